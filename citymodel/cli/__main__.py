"""``python -m citymodel.cli``: the same as the ``citymodel`` command."""

from citymodel.cli import main

if __name__ == "__main__":
    main()
