"""What every command-line entry point shares: how user errors are shown."""

import sys

from cagan.errors import CaganError


def run(main, argv=None):
    """Call ``main(argv)``; a :class:`~cagan.errors.CaganError` becomes its
    message on stderr (one line per problem) and exit status 1, never a
    traceback. Anything else is a bug and keeps its traceback.
    """
    try:
        status = main(argv)
    except CaganError as e:
        for line in str(e).splitlines() or [type(e).__name__]:
            print('error: ' + line, file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        status = 130
    sys.exit(status or 0)
