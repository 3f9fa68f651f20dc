"""The hook that makes a model's EMA its distillation teacher."""
from mmengine.hooks import EMAHook

from mmhirivit.models.classifiers import EMADistillClassifier
from mmhirivit.registry import HOOKS


@HOOKS.register_module()
class EMADistillHook(EMAHook):
    """MMEngine's :class:`EMAHook` whose EMA model also serves as the teacher
    of an :class:`mmhirivit.EMADistillClassifier` (paper §4.5).

    Everything else is :class:`EMAHook`'s: the same arguments (remember that
    MMEngine's ``momentum`` is ``1 − decay``: ``momentum=1e-4`` is timm's
    ``decay=0.9999``), validation on the EMA weights, and checkpoints whose
    ``state_dict`` holds the EMA weights and ``ema_state_dict`` the raw ones.
    """

    def before_run(self, runner) -> None:
        super().before_run(runner)
        if not isinstance(self.src_model, EMADistillClassifier):
            raise TypeError(
                f'EMADistillHook needs an mmhirivit.EMADistillClassifier '
                f'model, got {type(self.src_model).__name__}; use '
                f'EMAHook for plain EMA')
        self.src_model.set_teacher(self.ema_model.module)
