"""Yes/no settings read from text (environment variables, config files)."""


def parse_bool(text):
    """Whether a yes/no setting is on."""
    return text.strip().lower() == "yes"


def flag(settings, name, default=False):
    """The setting ``name`` of ``settings`` (a dict of text) as a bool."""
    if name not in settings:
        return default
    return parse_bool(settings[name])
