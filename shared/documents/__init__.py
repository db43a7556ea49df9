"""Reading untrusted documents into DocumentContent: PDF (text layer, embedded e-invoice, OCR of scans),
images (OCR) and XML e-invoices, each bounded in time and memory (``bounded.run_bounded``)."""
