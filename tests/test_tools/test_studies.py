"""The figures seed_study.py prints."""
from mmhirivit.analysis.studies import mean_std, minutes


def test_minutes_round_to_the_second():
    assert minutes(839.6) == '14 min 00 s'
    assert minutes(59.4) == '0 min 59 s'
    assert minutes(1069.58) == '17 min 50 s'


def test_mean_std_is_the_sample_spread():
    assert mean_std([88.18, 88.27, 88.62]) == '88.36 ± 0.23'
    assert mean_std([85.0]) == '85.00 ± 0.00'
