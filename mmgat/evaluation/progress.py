"""Progress bars of a suite run: entries (outer) and batches (inner); tqdm when installed."""


class SuiteProgress:
    """Progress bars of a suite run; everything is a no-op when disabled."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.tqdm = None
        if enabled:
            try:
                from tqdm import tqdm
                self.tqdm = tqdm
            except ImportError:  # pragma: no cover
                self.tqdm = None
        self.outer = None
        if self.tqdm is not None:
            self.outer = self.tqdm(total=total, desc='robustness', unit='entry',
                                   position=0, dynamic_ncols=True)

    def entry(self, text: str) -> None:
        if self.outer is not None:
            self.outer.set_description(text)

    def done(self) -> None:
        if self.outer is not None:
            self.outer.update(1)

    def inner(self, total: int, desc: str, unit: str = 'batch'):
        """A bar under the entries' bar (None when disabled): ``.update(n)``, ``.close()``."""
        if self.tqdm is None:
            return None
        return self.tqdm(total=total, desc=desc, unit=unit, position=1, leave=False,
                         dynamic_ncols=True)

    def close(self) -> None:
        if self.outer is not None:
            self.outer.close()


__all__ = ['SuiteProgress']
