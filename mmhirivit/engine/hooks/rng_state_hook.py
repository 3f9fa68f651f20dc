"""The hook that lets a resumed run draw the random numbers an uninterrupted
one draws."""
import torch
from mmengine.hooks import Hook

from mmhirivit.registry import HOOKS


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save torch's random state in every checkpoint and restore it when a
    run resumes from one.

    MMEngine seeds the generators when a run starts but saves none of their
    states, so a resumed run would draw other random numbers than the run it
    continues (mmdet's RPN and RoI samplers, drop path) and end with other
    weights. numpy's and Python's generators need nothing: resuming replays
    the batches already trained through the data pipeline, which is what
    draws from them. A run that only loads weights (``load_from``) keeps its
    own random state. The tools add this hook to every run
    (:func:`mmhirivit.engine.build_runner`).
    """

    priority = 'VERY_LOW'

    def __init__(self):
        self._resumed_state = None

    def before_save_checkpoint(self, runner, checkpoint):
        checkpoint['rng_state'] = dict(
            torch=torch.get_rng_state(),
            cuda=torch.cuda.get_rng_state_all()
            if torch.cuda.is_available() else [])

    def after_load_checkpoint(self, runner, checkpoint):
        self._resumed_state = checkpoint.get('rng_state')

    def before_train(self, runner):
        state = self._resumed_state
        if state is None or runner.iter == 0:  # not resumed
            return
        torch.set_rng_state(state['torch'])
        if torch.cuda.is_available() and \
                len(state['cuda']) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(state['cuda'])
