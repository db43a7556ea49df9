"""Prometheus text exposition, hand-rolled: a few counters, gauges and histograms need no library."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence


class Histogram:
    def __init__(self, name: str, help_text: str, buckets: Sequence[float]) -> None:
        self.name, self.help_text = name, help_text
        self.buckets = tuple(sorted(buckets))
        self.counts = [0] * len(self.buckets)
        self.total = 0.0
        self.count = 0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        with self._lock:
            self.count += 1
            self.total += value
            for index, bound in enumerate(self.buckets):
                if value <= bound:
                    self.counts[index] += 1

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help_text}", f"# TYPE {self.name} histogram"]
        for bound, cumulative in zip(self.buckets, self.counts, strict=True):
            lines.append(f'{self.name}_bucket{{le="{_number(bound)}"}} {cumulative}')
        lines += [f'{self.name}_bucket{{le="+Inf"}} {self.count}', f"{self.name}_sum {self.total}"]
        lines.append(f"{self.name}_count {self.count}")
        return lines


class Registry:
    """Counters (monotonic), gauges read at scrape time, histograms."""

    def __init__(self) -> None:
        self.counters: dict[str, tuple[str, float]] = {}
        self.gauges: dict[str, tuple[str, Callable[[], float]]] = {}
        self.histograms: list[Histogram] = []
        self._lock = threading.Lock()

    def counter(self, name: str, help_text: str) -> None:
        self.counters[name] = (help_text, 0.0)

    def inc(self, name: str, amount: float = 1.0) -> None:
        with self._lock:
            help_text, value = self.counters[name]
            self.counters[name] = (help_text, value + amount)

    def value(self, name: str) -> float:
        return self.counters[name][1]

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        self.gauges[name] = (help_text, read)

    def histogram(self, name: str, help_text: str, buckets: Sequence[float]) -> Histogram:
        histogram = Histogram(name, help_text, buckets)
        self.histograms.append(histogram)
        return histogram

    def render(self) -> str:
        lines: list[str] = []
        for name, (help_text, value) in self.counters.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {_number(value)}"]
        for name, (help_text, read) in self.gauges.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {_number(read())}"]
        for histogram in self.histograms:
            lines += histogram.render()
        return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
