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

    Distillation starts with the EMA (**ours**; the paper does not say when):
    until ``begin_iter`` / ``begin_epoch`` (:class:`EMAHook`'s, counted as
    it counts them) the EMA is a copy of the model and the target is the
    plain Mixup/CutMix label; from then on the EMA averages a model that has
    learned something, and the target mixes in its predictions. With the
    default 0 the teacher is the EMA from the first iteration, a nearly
    random model for thousands of iterations at decay 0.9999.
    """

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self.src_model.distilling = self._ema_started(runner)

    def before_run(self, runner) -> None:
        super().before_run(runner)
        if not isinstance(self.src_model, EMADistillClassifier):
            raise TypeError(
                f'EMADistillHook needs an mmhirivit.EMADistillClassifier '
                f'model, got {type(self.src_model).__name__}; use '
                f'EMAHook for plain EMA')
        self.src_model.set_teacher(self.ema_model.module)
