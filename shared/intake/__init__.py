"""Mail intake: parse a raw message into its context and invoice carriers (PDF, image, e-invoice XML)."""

from shared.intake.mime import parse_message
from shared.intake.models import Carrier, ParsedMessage, SkippedPart
from shared.intake.sniff import is_einvoice_xml, sniff_content_type, xml_root_name
from shared.intake.tnef import TnefError, TnefFile, extract_tnef

__all__ = [
    "Carrier",
    "ParsedMessage",
    "SkippedPart",
    "TnefError",
    "TnefFile",
    "extract_tnef",
    "is_einvoice_xml",
    "parse_message",
    "sniff_content_type",
    "xml_root_name",
]
