"""Azure adapters (azure-storage-blob). Imported only when ``PAPYR_BACKEND=azure``."""
