"""What the models and the runner need besides themselves: safe checkpoint
loading (:mod:`mmhirivit.utils.checkpoint`)."""
