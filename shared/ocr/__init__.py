"""OCR: page image in, words with boxes out. One interface, two places it runs: in-process
(embedded default) and behind the gpu-inference service's HTTP API (Azure)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from shared.documents.content import Word

if TYPE_CHECKING:
    from PIL.Image import Image


class OcrEngine(Protocol):
    def recognize(self, image: Image) -> list[Word]:
        """Words (text runs) of one page image, boxes in that image's pixels, origin top-left."""
        ...
