"""Top-level error handling shared by mmgat's command-line tools."""
import sys
from functools import wraps

from .errors import MmgatError


def _short_message(error: Exception) -> str:
    message = str(error)
    # Errors re-raised from dataloader workers carry the worker's traceback as text;
    # its last line is the original message.
    if 'Original Traceback' in message:
        message = message.strip().splitlines()[-1]
    return message


def exit_on_user_error(main):
    """Run ``main``; print an :class:`MmgatError` as one line and exit with status 2."""

    @wraps(main)
    def wrapped(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except MmgatError as e:
            print(f'error: {_short_message(e)}', file=sys.stderr)
            sys.exit(2)

    return wrapped
