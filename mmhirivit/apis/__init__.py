from .cli import (UsageError, add_amp_arg, add_common_args, add_trust_arg,
                  check_data, check_pretrained, enable_amp, load_config,
                  run_cli)

__all__ = [
    'UsageError', 'add_amp_arg', 'add_common_args', 'add_trust_arg',
    'check_data', 'check_pretrained', 'enable_amp', 'load_config', 'run_cli'
]
