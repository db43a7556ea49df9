"""Field labels in EN, DE, FR, NL, ES and IT, as regexes over folded text (lower case, no accents).

Each label names the fields its value may fill and a weight: 1.0 for a label that names the field
unambiguously ("Rechnungsnummer"), less for generic ones ("Date", "No."). Labels that name things
we do not extract ("Order date", "Kundennr.") are kept too, as ``OTHER``: the longest label wins on
overlap, so "Order Date" is not read as the invoice date and "Total HT" not as the gross total.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.extraction.layout_lines import TextLine

OTHER = "other"
BUYER = "buyer"
SHIP_TO = "ship_to"  # the delivery address: like the buyer's block, never the vendor (not an output field)
VENDOR = "vendor"
BUYER_VAT = "buyer_vat"
TENDERED = "tendered"  # money handed over at the till (not an output field)
CHANGE = "change"  # money given back at the till (not an output field)

_SEP = r"[ .\-/_]*"
_NO = r"(?:no|nr|n°|nº|n|#|number|nummer|num|numero|nummber)\.?"


def _words(*parts: str) -> str:
    return _SEP.join(parts)


@dataclass(frozen=True)
class Label:
    fields: frozenset[str]
    weight: float
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class LabelMatch:
    label: Label
    line: TextLine
    start: int
    end: int

    @property
    def fields(self) -> frozenset[str]:
        return self.label.fields

    @property
    def text(self) -> str:
        return self.line.text[self.start : self.end]


_RAW: list[tuple[str, float, str]] = [
    # ---- invoice number
    ("invoice_number", 1.0, _words(r"(?:tax\s)?invoice", _NO)),
    ("invoice_number", 1.0, r"invoice\s?(?:id|ref(?:erence)?)"),
    ("invoice_number", 1.0, r"(?:rechnungs|gutschrifts|beleg)" + _SEP + r"(?:nr|nummer|no)\.?"),
    ("invoice_number", 1.0, _words(r"(?:rechnung|gutschrift|beleg)", r"(?:nr|nummer|no)\.?")),
    ("invoice_number", 1.0, r"[a-z]{3,}rechnung(?:\s\(\d{3}\))?" + _SEP + r"(?:nr|nummer|no)\.?"),
    ("invoice_number", 1.0, _words(r"(?:facture|avoir)", r"(?:n°|nº|no|numero|num)\.?")),
    ("invoice_number", 1.0, r"numero\s(?:de\s)?(?:la\s)?(?:facture|factura|fattura)"),
    ("invoice_number", 1.0, r"(?:factuur|credit)" + _SEP + r"(?:nummer|nr)\.?"),
    ("invoice_number", 1.0, _words(r"(?:factura|fattura)", r"(?:n°|nº|no|nr|numero|num)\.?")),
    ("invoice_number", 1.0, _words(r"credit\s?note", _NO)),
    ("invoice_number", 0.8, _words(r"(?:document|doc|bill|receipt|beleg)", _NO)),
    ("invoice_number", 0.6, r"booking\s?id|confirmation\s?(?:no|number)"),
    ("invoice_number", 0.55, r"(?:tax\s)?invoice|rechnung|facture|factuur|factura|fattura|gutschrift|avoir"),
    ("invoice_number", 0.45, r"#|nr\.|no\.|n°"),
    # ---- dates
    ("invoice_date", 1.0, _words(r"(?:invoice|bill|issue|issued|billing)", r"date")),
    ("invoice_date", 1.0, r"date\s(?:of\s)?(?:invoice|issue)"),
    ("invoice_date", 1.0, r"(?:rechnungs|beleg|gutschrifts|ausstellungs)" + _SEP + r"datum"),
    ("invoice_date", 1.0, r"date\s(?:de\s)?(?:la\s)?(?:facture|facturation|d'emission|emission)"),
    ("invoice_date", 1.0, _words(r"factuur", r"datum") + r"|factuurdatum"),
    (
        "invoice_date",
        1.0,
        r"fecha\s(?:de\s)?(?:la\s)?(?:factura|emision|expedicion)|data\s(?:della\s)?(?:fattura|emissione|documento)",
    ),
    ("invoice_date", 0.9, r"issued\s(?:at|on)|ausgestellt\sam|emise?\sle|emessa\sil|emitida\sel"),
    ("invoice_date", 0.7, r"date|datum|fecha|data|dated|dd\."),
    ("invoice_date", 0.45, r"vom|du|del|van"),
    ("due_date", 1.0, r"(?:payment\s)?due\s?date|date\sdue|due\sby|pay(?:ment)?\sby|payable\sby"),
    (
        "due_date",
        1.0,
        r"(?:faelligkeit|falligkeit)s?(?:datum)?|faellig\s(?:am|bis)|fallig\s(?:am|bis)|zahlungsziel|zahlbar\sbis",
    ),
    (
        "due_date",
        1.0,
        r"date\s(?:d')?(?:e\s)?(?:'?echeance|limite\sde\spaiement|d'exigibilite)|echeance|a\spayer\savant\sle",
    ),
    ("due_date", 1.0, r"vervaldatum|vervaldag|uiterste\sbetaaldatum|te\sbetalen\svoor"),
    ("due_date", 1.0, r"fecha\sde\svencimiento|vencimiento|data\sdi\sscadenza|scadenza"),
    (
        "due_date",
        1.0,
        r"(?:zahlbar|payable|betaalbaar|payable)(?:\s(?:innerhalb|within|binnen)\s\d+\s(?:tagen|days|dagen))?(?:\s(?:netto|net))?\s(?:bis|until|by|tot|voor)(?:\s(?:zum|le))?",
    ),
    (
        "due_date",
        1.0,
        r"(?:remit|pay|payment|paid)\s(?:until|by|before|no\slater\sthan)"
        r"|(?:uberweisen|zahlen|bezahlen|begleichen)\s(?:sie\s)?(?:den\s(?:rechnungs)?betrag\s)?"
        r"(?:bis\s(?:zum|spatestens)?|spatestens\s(?:bis\s)?(?:zum)?)"
        r"|(?:a\sregler|payable|a\spayer)\s(?:avant|au\splus\stard)(?:\sle)?|pagar\s(?:antes\sdel?|hasta\sel)"
        r"|pagare\sentro(?:\sil)?|betalen\s(?:voor|uiterlijk(?:\sop)?)",
    ),
    ("due_date", 0.6, r"due|payable\swithin"),
    (
        OTHER,
        1.0,
        _words(
            r"(?:order|delivery|ship|shipping|service|period|leistungs|liefer|bestell|auftrags|auftrag|lieferschein|commande|livraison|order|bestel|lever|pedido|entrega|ordine|consegna)",
            r"(?:date|datum|fecha|data)",
        ),
    ),
    (
        OTHER,
        1.0,
        r"(?:orderdatum|bestelldatum|leverdatum|leveringsdatum|lieferdatum|leistungsdatum|date\sde\s(?:commande|livraison))",
    ),
    (OTHER, 1.0, r"liefer-?\s?und\sleistungsdatum|(?:date|datum)\s(?:of\s)?(?:delivery|order|supply)"),
    (
        OTHER,
        1.0,
        _words(
            r"(?:customer|client|account|kunden|klant|debitor|cliente|steuer|tax|contract|vertrags|mandat)",
            r"(?:no|nr|number|nummer|id|numero|n°)\.?",
        ),
    ),
    (
        OTHER,
        1.0,
        r"kundennr\.?|klantnummer|steuernummer|steuer-?nr\.?|siret|siren|kvk|rcs|hrb|iln|gln|ifsc(?:\scode)?|cin|sort\scode|bank\scode|blz|kto"
        + _SEP
        + r"nr\.?",
    ),
    (OTHER, 1.0, r"order\s?id\s?(?:date)?|lieferschein" + _SEP + r"nr\.?|delivery\snote"),
    # ---- references
    (
        "po_number",
        1.0,
        _words(r"(?:purchase\s)?order", _NO) + r"|order\s?id|p\.?o\.?\s?(?:no|number|#|nr)\.?|purchase\sorder",
    ),
    (
        "po_number",
        1.0,
        r"bestellung|(?:bestell|auftrags)"
        + _SEP
        + r"(?:nr|nummer|no)\.?|ihre\sbestellung|ihr\sauftrag|your\sorder|your\sref(?:erence)?",
    ),
    (
        "po_number",
        1.0,
        r"(?:n°|numero)\sde\scommande|bon\sde\scommande|votre\scommande|votre\sreference|ordernummer|bestelnummer"
        r"|bestelling|uw\sreferentie|uw\sorder(?:nummer)?|su\sreferencia|vostro\sriferimento",
    ),
    ("po_number", 1.0, r"(?:n°|numero)\s(?:de\s)?pedido|pedido|(?:n°|numero)\s(?:d')?ordine|ordine\sn"),
    # ---- money
    (
        "total",
        1.0,
        r"(?:grand|invoice|gross|final)\s?total|total\s(?:amount|due|payable|to\spay|invoice|gross|incl\.?(?:uding)?\s(?:vat|tax|gst))|total\s?ttc|montant\s(?:total\s)?ttc|total\sa\spayer|net\sa\spayer",
    ),
    (
        "total",
        1.0,
        r"(?:rechnungs)?summe\sbrutto|gesamt(?:betrag|summe)|rechnungs(?:betrag|summe)|brutto(?:betrag|summe)|endbetrag|gesamt\sbrutto|summe\sbrutto|zu\szahlen(?:der\sbetrag)?",
    ),
    (
        "total",
        1.0,
        r"totaal(?:bedrag)?(?:\sincl\.?\s(?:btw)?)?|te\sbetalen|total\sfactura|importe\stotal|total\sa\spagar|totale(?:\s(?:fattura|documento|da\spagare))?",
    ),
    (
        "total",
        1.0,
        r"(?:summe|total|gesamtbetrag|gesamtsumme|betrag|totaal|montant|importe|importo)\s"
        r"(?:inkl|incl|inclusief|including|incluido|incluso)\.?\s(?:der\s)?(?:ust|mwst|vat|tax|tva|btw|iva|gst)\.?",
    ),
    (
        "total",
        1.0,
        # "Total Sales Inclusive GST", "Total RM inc.GST", "Total Includes GST 0%"; "Inci" is OCR's "Incl".
        r"total\s(?:[a-z]{2,3}\s|sales\s)?\(?(?:incl|inci|inc|inclusive|including|includes?)\.?\s?(?:of\s)?"
        r"(?:gst|vat|tax|sst)\)?(?:\s?@?\s?\d+\s?%)?"
        r"|total\safter\s(?:adj(?:ustment)?|rounding)(?:\s(?:incl\.?\s)?(?:gst|vat|tax))?|rounded\stotal|total\srounded",
    ),
    (
        "subtotal",
        1.0,
        r"total\s(?:[a-z]{2,3}\s)?\(?(?:excl|exclusive|excluding|before)\.?\s?(?:of\s)?(?:gst|vat|tax|sst)\)?",
    ),
    # Receipt counters that print next to the word "total" but are not money totals.
    (
        OTHER,
        1.0,
        r"total\s(?:qty|quantity|items?|savings?|discount|pieces|pcs|units|rounding)|(?:item|qty)\s?count",
    ),
    # What the customer handed over and got back: tendered - change = total on a till receipt.
    (TENDERED, 1.0, r"cash|tendered|amount\spaid|paid|visa|mastercard|master|credit\scard|debit\scard|card"),
    (CHANGE, 1.0, r"change(?:\sdue)?|balance\sreturned"),
    ("total", 0.8, r"total|summe|montant|importe|importo"),
    (
        "amount_due",
        1.0,
        r"(?:amount|balance|total)\s(?:due|payable|owing)|zahlbetrag|noch\szu\szahlen|offener\sbetrag|restbetrag|reste\sa\spayer|somme\sa\spayer|montant\sdu|openstaand(?:\sbedrag)?|importe\s(?:a\spagar|pendiente)|importo\sda\spagare",
    ),
    (
        "amount_due",
        1.0,
        r"due\spayable|payable\samount|amount\sto\s(?:be\s)?pa(?:y|id)|solde\s(?:a\spayer|du)|zu\szahlender\sbetrag|verbleibender\sbetrag",
    ),
    ("amount_due", 0.6, r"balance"),
    (
        "subtotal",
        1.0,
        r"sub\s?-?\s?total|net\s(?:total|amount)|total\snet|(?:total|amount)\s(?:excl\.?(?:uding)?|before|without|w/o)\s(?:vat|tax|gst)|total\s?ht|montant\s(?:eur\s|total\s)?ht|sous-?\s?total|total\shors\staxes",
    ),
    (
        "subtotal",
        1.0,
        r"(?:rechnungs)?summe\snetto|netto\s?\(excl|netto(?:betrag|summe)|zwischensumme|summe\snetto|gesamt\snetto|rechnungssumme\sohne\sust\.?|summe\sohne\s(?:ust|mwst)\.?|warenwert\snetto",
    ),
    (
        "subtotal",
        1.0,
        r"subtotaal|(?:totaal\s)?excl(?:usief|\.)?\sbtw|netto\sbedrag|grondslag|base\simponible|subtotal|imponibile|totale\simponibile|subtotale",
    ),
    (
        "subtotal",
        1.0,
        r"(?:summe|total|betrag|totaal|montant|importe|importo)\s(?:exkl|excl|exclusief|excluding|ohne|zzgl|hors|sin|senza)"
        r"\.?\s(?:der\s)?(?:ust|mwst|vat|tax|tva|btw|iva|gst)\.?",
    ),
    ("subtotal", 0.6, r"netto|net|warenwert|positionssumme"),
    ("tax", 1.0, r"(?:total\s)?(?:vat|tax|gst|sales\stax)(?:\samount)?|(?:igst|cgst|sgst)"),
    (
        "tax",
        1.0,
        r"(?:mwst|ust|umsatzsteuer|mehrwertsteuer)(?:[.\-]{0,2}\s?(?:betrag))?|steuerbetrag|mwst-?betrag|summe\s(?:mwst|ust)",
    ),
    ("tax", 1.0, r"(?:montant\s|total\s)?tva|(?:totaal\s)?btw(?:\s?bedrag)?|(?:cuota\s)?iva|imposta|impuesto"),
    (
        "tax",
        1.0,
        r"(?:vat|tax|gst|ust|mwst|tva|btw|iva)\.?\s(?:total|gesamt|totaal|totale)|total\s(?:taxes|tva|btw|iva|mwst|ust)"
        r"|(?:zuzugl|zzgl)\.?\s(?:ust|mwst|umsatzsteuer)|plus\s(?:vat|tax)",
    ),
    # ---- parties and bank
    ("vendor_vat_id", 1.0, r"(?:vat|tax|gst)\s?(?:reg(?:istration)?\.?\s?)?(?:id|no|nr|number|#)\.?|gstin|vat|tin"),
    (
        "vendor_vat_id",
        1.0,
        r"ust\.?"
        + _SEP
        + r"id\.?"
        + _SEP
        + r"(?:nr\.?)?|ustid(?:nr)?\.?|umsatzsteuer"
        + _SEP
        + r"(?:id|identifikationsnummer)"
        + r"|ust\.?-?\s?ident(?:ifikations)?\.?-?\s?(?:nr|nummer)\.?",
    ),
    (
        "vendor_vat_id",
        1.0,
        r"(?:n°\s(?:de\s)?)?tva(?:\sintra\s?-?(?:communautaire)?)?|(?:n°\s)?intracom(?:munautaire)?",
    ),
    ("vendor_vat_id", 1.0, r"btw" + _SEP + r"(?:nr|nummer|id)\.?|btw|(?:nif|cif|p\.?\s?iva|partita\siva)"),
    (
        BUYER_VAT,
        1.0,
        r"(?:your|customer|client|buyer)\s(?:vat|tax)\s?(?:id|no|number|nr)?|uw\sbtw\s?(?:nummer|nr)?|ihre\sust"
        + _SEP
        + r"(?:id)?"
        + _SEP
        + r"(?:nr)?|votre\s(?:n°\s)?tva",
    ),
    (
        BUYER_VAT,
        1.0,
        r"(?:ihre|kunden)\s?-?(?:ust|mwst)\.?-?\s?(?:id|ident)[a-z]*\.?-?\s?(?:nr|nummer)?\.?"
        r"|(?:n°\s)?tva\s(?:du\s)?client|(?:customer|client|buyer)'?s?\s(?:vat|gst)\s?(?:id|no|number|reg)?\.?"
        r"|btw\s?-?(?:nummer|nr)?\.?\s(?:klant|afnemer)|(?:nif|cif)\s(?:del\s)?cliente|p\.?\s?iva\s(?:del\s)?cliente",
    ),
    ("iban", 1.0, r"iban"),
    ("bic", 1.0, r"bic|swift(?:\s?code)?|bic/swift|swift/bic"),
    (
        VENDOR,
        1.0,
        r"sold\sby|seller|vendor|supplier|service\sprovider|issued\sby|verkaufer|verkaeufer|lieferant|rechnungssteller|fournisseur|vendeur|emetteur|leverancier|verkoper|proveedor|emisor|vendedor|fornitore|cedente|emittente",
    ),
    (
        VENDOR,
        0.8,
        r"account\s(?:holder|name)|beneficiary|payable\sto|kontoinhaber|begunstigter|titulaire\sdu\scompte|beneficiaire|rekeninghouder|ten\sname\svan|titular|intestatario|in\sfavou?r\sof",
    ),
    (
        BUYER,
        1.0,
        r"(?:kaufer|kaeufer)\s?/\s?leistungsempfanger|bill(?:ed)?\sto|invoice\sto|sold\sto|customer|buyer|billing\saddress|recipient|rechnungsempfanger|rechnungsempfaenger|kunde|kaufer|kaeufer|leistungsempfanger|rechnungsadresse|client|facture\sa(?=\s*(?::|\t|$))|adresse\sde\sfacturation|destinataire|klant|factuuradres|afnemer|cliente|facturar\sa|destinatario|committente",
    ),
    (
        SHIP_TO,
        1.0,
        r"ship\sto|shipping\saddress|deliver\sto|lieferadresse|lieferanschrift|warenempfanger|adresse\sde\slivraison|afleveradres|leveradres|direccion\sde\sentrega|indirizzo\sdi\sconsegna",
    ),
    (OTHER, 1.0, r"(?:page|seite|pagina|blatt)\s?\d*"),
    # "excl. VAT" / "Ohne MwSt." qualify a price; they are not the tax amount's label.
    (
        OTHER,
        1.0,
        r"(?:ohne|excl|exkl|exclusief|hors|sans|without|before|incl|inkl|inclusief|including)\.?\s(?:mwst|ust|vat|tax|tva|btw|iva)\.?",
    ),
    ("currency", 1.0, r"currency|wahrung|waehrung|devise|valuta|moneda"),
]

LABELS: tuple[Label, ...] = tuple(
    Label(frozenset({name}), weight, re.compile(r"(?<![a-z0-9_])(?:" + pattern + r")(?![a-z_])"))
    for name, weight, pattern in _RAW
)


# Any label at all: one scan that rules out most lines (values, addresses) before the per-label scans.
_ANY_LABEL = re.compile(r"(?<![a-z0-9_])(?:" + "|".join(f"(?:{pattern})" for _, _, pattern in _RAW) + r")(?![a-z_])")


def find_labels(line: TextLine) -> list[LabelMatch]:
    """Labels on one line, longest first on overlap, in reading order."""
    if not _ANY_LABEL.search(line.folded):
        return []
    matches: list[LabelMatch] = []
    for label in LABELS:
        for found in label.pattern.finditer(line.folded):
            if found.end() > found.start() and not _in_parentheses(line.text, found.start(), found.end()):
                matches.append(LabelMatch(label, line, found.start(), found.end()))
    matches.sort(key=lambda m: (-(m.end - m.start), -m.label.weight))
    kept: list[LabelMatch] = []
    for match in matches:
        if any(match.start < k.end and k.start < match.end for k in kept):
            if any(
                k.start == match.start and k.end == match.end and k.label.fields != match.label.fields for k in kept
            ):
                kept.append(match)  # the same words label two fields ("BTW": tax and VAT id)
            continue
        kept.append(match)
    kept.sort(key=lambda m: m.start)
    return kept


def _in_parentheses(text: str, start: int, end: int) -> bool:
    """A label word inside parentheses qualifies the label before it ("Netto (excl. USt.)")."""
    opened = text.rfind("(", 0, start)
    if opened < 0 or text.rfind(")", opened, start) >= 0 or "\t" in text[opened:start]:
        return False
    closed = text.find(")", end)
    return closed >= 0 and "\t" not in text[end:closed]
