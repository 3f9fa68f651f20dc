from .cli import (UsageError, add_common_args, add_trust_arg, check_data,
                  check_pretrained, load_config, run_cli)

__all__ = [
    'UsageError', 'add_common_args', 'add_trust_arg', 'check_data',
    'check_pretrained', 'load_config', 'run_cli'
]
