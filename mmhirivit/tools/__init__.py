"""The library behind the scripts in ``tools/``: argument handling and error
reporting (:mod:`.cli`), config reading and model building (:mod:`.configs`),
the drop-in checks (:mod:`.dropin`), checkpoint conversion and publishing
(:mod:`.convert`), FLOP counting (:mod:`.complexity`), timing and memory
probes (:mod:`.timing`, :mod:`.memory`) and the toy datasets
(:mod:`.toy_data`). The models never import it.
"""
