"""`fa provider on|off`: placeholder until the provider lands."""


def command(debugger, target, on):
    raise NotImplementedError
