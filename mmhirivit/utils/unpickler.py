"""A pickle reader that builds data and nothing else.

:class:`DataUnpickler` reads the pickle inside a ``torch.save`` file (pickle
protocol 2, as torch writes it) for ``torch.load(..., pickle_module=...)``.
Everything it may build is named per call in a table of its own
(:func:`data_pickle_module`), so no global state of torch, of this module or
of another thread changes what a file may do. It knows only the opcodes
``torch.save`` writes, and it checks the arguments of every call a file
asks for:

- tensors and parameters through torch's own rebuild functions, with no
  backward hooks and no extra state;
- containers: dicts, ``OrderedDict``, lists, tuples, sets;
- what MMEngine 0.10.7 stores besides tensors: its message hub's
  :class:`~mmengine.logging.HistoryBuffer` objects (their state is exactly
  the four fields MMEngine writes, their statistics methods MMEngine's
  own four), and numpy dtypes, arrays and scalars of numeric data in the
  form numpy writes them (an object dtype, fields or flags could make numpy
  read raw bytes as object pointers).

Anything else ends the load with :class:`NotData`, naming it, before it is
built.
"""
import _compat_pickle
import codecs
import math
import pickle
from collections import Counter, OrderedDict
from struct import unpack
from types import SimpleNamespace

import numpy as np
import torch
from mmengine.logging import HistoryBuffer


class NotData(Exception):
    """The pickle asks for something that is not data; nothing of it ran.

    Not an ``UnpicklingError``: torch rewrites those into its own message.
    """


# The statistics methods of every HistoryBuffer, as MMEngine registers them.
HISTORY_STATISTICS = ('min', 'max', 'current', 'mean')
# A HistoryBuffer's pickled state: what its __getstate__ returns.
HISTORY_FIELDS = frozenset(
    {'max_length', '_log_history', '_count_history', 'statistics_methods'})
NUMERIC_KINDS = 'biufc'  # bool, signed, unsigned, float, complex
# numpy 2 pickles from numpy._core; files written with numpy 1 name
# numpy.core.
NUMPY_MODULES = ('numpy._core.multiarray', 'numpy.core.multiarray')


def _empty_hooks(hooks):
    if not (type(hooks) in (dict, OrderedDict) and not hooks):
        raise NotData(f'tensor backward hooks {hooks!r} (only an empty '
                      f'OrderedDict is data)')


def _rebuild_tensor(storage, offset, size, stride, requires_grad, hooks,
                    metadata=None):
    """``torch._utils._rebuild_tensor_v2`` for a plain tensor."""
    if not isinstance(storage, torch.storage.TypedStorage) or not all(
            type(v) is int for v in (offset, *size, *stride)) or type(
                requires_grad) is not bool or metadata not in (None, {}):
        raise NotData('a tensor that torch.save does not write')
    _empty_hooks(hooks)
    return torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
                                           requires_grad, OrderedDict())


def _rebuild_parameter(data, requires_grad, hooks):
    """``torch._utils._rebuild_parameter`` for a plain parameter."""
    if type(data) is not torch.Tensor or type(requires_grad) is not bool:
        raise NotData('a parameter that torch.save does not write')
    _empty_hooks(hooks)
    return torch._utils._rebuild_parameter(data, requires_grad,
                                           OrderedDict())


def _rebuild_from_type(func, new_type, args, state):
    """``torch._tensor._rebuild_from_type_v2`` for a plain tensor or
    parameter with no state but the marker FSDP leaves on the tensors of a
    full state dict (``_has_been_cloned``), which is dropped."""
    if func not in (_rebuild_tensor, _rebuild_parameter) or \
            new_type is not torch.Tensor or type(args) is not tuple or not (
                state is None or (type(state) is dict and set(state) <= {
                    '_has_been_cloned'})):
        raise NotData('a tensor of another type, or with a state, than '
                      'torch.save writes for a plain tensor')
    return func(*args)


def _counter(counts=None):
    """``collections.Counter`` of ints or strings (MMEngine's MultiStepLR
    keeps its milestones in one)."""
    counts = {} if counts is None else counts
    if type(counts) is not dict or not all(
            type(k) in (int, str) and type(v) is int
            for k, v in counts.items()):
        raise NotData('a Counter of something other than counts')
    return Counter(counts)


def _latin1_bytes(text, encoding):
    """``_codecs.encode(text, 'latin1')``: how protocol 2 writes bytes."""
    if type(text) is not str or encoding not in ('latin1', 'latin-1'):
        raise NotData(f'_codecs.encode(..., {encoding!r}) (only latin1 '
                      f'bytes are data)')
    return codecs.encode(text, 'latin1')


def _new_set(items=()):
    if type(items) is not list:
        raise NotData('a set built from something other than a list')
    return set(items)


def _complex(real=0., imag=0.):
    if not all(type(v) in (int, float) for v in (real, imag)):
        raise NotData('a complex number built from something other than '
                      'numbers')
    return complex(real, imag)


def _statistics_method(owner, name):
    """``getattr`` as a pickled HistoryBuffer uses it
    (``getattr(HistoryBuffer, 'mean')``), and for nothing else."""
    if owner is not HistoryBuffer or name not in HISTORY_STATISTICS:
        raise NotData(f'getattr({owner!r}, {name!r}) (only HistoryBuffer '
                      f'statistics methods may be named)')
    return getattr(owner, name)


def _numeric_dtype(spec, align=False, copy=True):
    """``numpy.dtype(spec, align, copy)`` as numpy pickles a numeric dtype
    (``'f8'``, ``'i8'``, ``'b1'``, ...)."""
    if type(spec) is str and align is False and copy is True:
        try:
            dtype = np.dtype(spec)
        except TypeError:
            dtype = None
        if dtype is not None and dtype.kind in NUMERIC_KINDS and \
                dtype.str[1:] == spec:
            return np.dtype(spec, False, True)  # a copy, not numpy's own
    what = repr(spec) if (align, copy) == (False, True) else \
        f'arguments {(spec, align, copy)!r}'
    raise NotData(f'numpy dtype {what} (only numeric dtypes are data)')


class _NdarrayName:
    """What ``numpy.ndarray`` stands for: numpy names the type only as the
    first argument of its array pickle."""


def _empty_array(cls, shape, typecode):
    """``_reconstruct(numpy.ndarray, (0,), b'b')``, numpy's array pickle;
    the array's content comes with its state."""
    if cls is not _NdarrayName or shape != (0, ) or typecode != b'b':
        raise NotData(f'numpy _reconstruct{(cls, shape, typecode)!r}')
    return np._core.multiarray._reconstruct(np.ndarray, (0, ), b'b')


def _is_numeric(dtype):
    return isinstance(dtype, np.dtype) and dtype.kind in NUMERIC_KINDS \
        and not dtype.hasobject and dtype.names is None


def _scalar(dtype, raw):
    """numpy's scalar pickle: a numeric dtype and exactly its bytes."""
    if not (_is_numeric(dtype) and type(raw) is bytes
            and len(raw) == dtype.itemsize):
        raise NotData('a numpy scalar that is not a numeric value')
    return np._core.multiarray.scalar(dtype, raw)


def _build_dtype(dtype, state):
    forms = [d.__reduce__()[2] for d in (dtype, dtype.newbyteorder())]
    if state not in forms:
        raise NotData(f'numpy dtype state {state!r} for {dtype} (numpy '
                      f'writes {forms[0]!r})')
    dtype.__setstate__(state)


def _build_array(array, state):
    if isinstance(state, tuple) and len(state) == 5:
        version, shape, dtype, fortran, raw = state
        if (version == 1 and type(shape) is tuple
                and all(type(n) is int and n >= 0 for n in shape)
                and _is_numeric(dtype) and type(fortran) is bool
                and type(raw) is bytes
                and len(raw) == math.prod(shape) * dtype.itemsize):
            array.__setstate__(state)
            return
    raise NotData('a numpy array state that numpy does not write for a '
                  'numeric array')


def _is_history(value):
    return isinstance(value, np.ndarray) and value.ndim == 1 and \
        _is_numeric(value.dtype)


def _build_history(buffer, state):
    """A HistoryBuffer's state: exactly its four fields, numeric histories
    of equal length, MMEngine's own statistics methods. (Its
    ``__setstate__`` copies the methods into the class, for every buffer of
    the process.)"""
    if type(state) is not dict or set(state) != HISTORY_FIELDS:
        keys = sorted(state) if type(state) is dict else type(state).__name__
        raise NotData(f'a HistoryBuffer state with {keys} (MMEngine writes '
                      f'{sorted(HISTORY_FIELDS)})')
    methods = state['statistics_methods']
    if not (type(methods) is dict and all(
            name in HISTORY_STATISTICS
            and method is getattr(HistoryBuffer, name)
            for name, method in methods.items())):
        raise NotData(f'HistoryBuffer statistics methods {methods!r} (only '
                      f'MMEngine\'s {HISTORY_STATISTICS})')
    logs, counts, length = (state['_log_history'], state['_count_history'],
                            state['max_length'])
    if not (type(length) is int and length > 0 and _is_history(logs)
            and _is_history(counts) and len(logs) == len(counts) <= length):
        raise NotData('a HistoryBuffer whose histories are not numeric '
                      'arrays of equal length within its max_length')
    buffer.__setstate__(dict(state))


def _build_ordered_dict(mapping, state):
    """A state dict's ``_metadata`` (the version of each module's state),
    the one attribute ``Module.state_dict()`` sets on its OrderedDict."""
    if type(mapping) is not OrderedDict or type(state) is not dict or set(
            state) != {'_metadata'} or type(state['_metadata']) not in (
                dict, OrderedDict):
        raise NotData('an OrderedDict state other than a state dict\'s '
                      '_metadata')
    mapping._metadata = state['_metadata']


# How each object a file may build takes its pickled state (BUILD).
BUILDERS = ((np.dtype, _build_dtype), (np.ndarray, _build_array),
            (HistoryBuffer, _build_history),
            (OrderedDict, _build_ordered_dict))


def python3_name(module, name):
    """``module.name`` as Python 3 names it: protocol 2 writes Python 2's
    names for builtins (``__builtin__.set``), which pickle maps back."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    return f'{module}.{name}'


def allowed_globals():
    """The names a file may use and what each stands for: calls that check
    their arguments, the types pickles name as markers (``numpy.ndarray``,
    ``torch.Tensor``: never called), torch's dtypes and HistoryBuffer (which
    is created empty, then given a checked state)."""
    table = {
        'collections.OrderedDict': OrderedDict,
        'collections.Counter': _counter,
        'torch._utils._rebuild_tensor_v2': _rebuild_tensor,
        'torch._utils._rebuild_parameter': _rebuild_parameter,
        'torch._tensor._rebuild_from_type_v2': _rebuild_from_type,
        'torch.Tensor': torch.Tensor,
        '_codecs.encode': _latin1_bytes,
        'builtins.set': _new_set,
        'builtins.complex': _complex,
        'builtins.getattr': _statistics_method,
        'mmengine.logging.history_buffer.HistoryBuffer': HistoryBuffer,
        'numpy.dtype': _numeric_dtype,
        'numpy.ndarray': _NdarrayName,
    }
    for module in NUMPY_MODULES:
        table[f'{module}._reconstruct'] = _empty_array
        table[f'{module}.scalar'] = _scalar
    for dtype in (getattr(torch, name) for name in dir(torch)):
        if isinstance(dtype, torch.dtype):
            table[str(dtype)] = dtype
    return table


ALLOWED = allowed_globals()
# What REDUCE may call (each checks its arguments) and NEWOBJ may create.
CALLABLE = frozenset({
    OrderedDict, _counter, _rebuild_tensor, _rebuild_parameter,
    _rebuild_from_type, _latin1_bytes, _new_set, _complex,
    _statistics_method, _numeric_dtype, _empty_array, _scalar
})
CREATABLE = (HistoryBuffer, )

_OPS = {}


def _op(name):
    def register(method):
        _OPS[pickle.__dict__[name][0]] = method
        return method

    return register


class DataUnpickler:
    """The ``Unpickler`` of :func:`data_pickle_module`.

    torch's loader subclasses it to resolve its storage types in
    :meth:`find_class` and sets :meth:`persistent_load` to read the
    storages; every other name goes to :data:`ALLOWED`.
    """

    def __init__(self, file, *, encoding='utf-8'):
        self.read = file.read
        self.readline = file.readline
        self.encoding = encoding
        self.memo = {}

    def find_class(self, module, name):
        full = python3_name(module, name)
        if full not in ALLOWED:
            raise NotData(full)
        return ALLOWED[full]

    def persistent_load(self, pid):
        raise NotData('a persistent id outside a torch.save file')

    def load(self):
        self.stack, self.marks = [], []
        while True:
            code = self.read(1)
            if not code:
                raise NotData('a pickle that ends before its STOP')
            if code == pickle.STOP:
                return self.stack.pop()
            op = _OPS.get(code[0])
            if op is None:
                raise NotData(f'pickle opcode {code!r}, which torch.save '
                              f'does not write')
            op(self)

    def _pop_mark(self):
        items, self.stack = self.stack, self.marks.pop()
        return items

    @_op('PROTO')
    def _proto(self):
        if self.read(1)[0] > 2:
            raise NotData('a pickle protocol above 2 (torch.save writes 2)')

    @_op('GLOBAL')
    def _global(self):
        module = self.readline()[:-1].decode('utf-8')
        name = self.readline()[:-1].decode('utf-8')
        self.stack.append(self.find_class(module, name))

    @_op('REDUCE')
    def _reduce(self):
        args = self.stack.pop()
        func = self.stack[-1]
        if func not in CALLABLE or type(args) is not tuple:
            raise NotData(f'a call of {func!r}')
        self.stack[-1] = func(*args)

    @_op('NEWOBJ')
    def _newobj(self):
        args = self.stack.pop()
        cls = self.stack[-1]
        if cls not in CREATABLE or args != ():
            raise NotData(f'creating {cls!r} with {args!r}')
        self.stack[-1] = cls.__new__(cls)

    @_op('BUILD')
    def _build(self):
        state = self.stack.pop()
        inst = self.stack[-1]
        for kind, build in BUILDERS:
            if isinstance(inst, kind):
                return build(inst, state)
        raise NotData(f'setting the state of a {type(inst).__name__}')

    @_op('BINPERSID')
    def _persid(self):
        self.stack.append(self.persistent_load(self.stack.pop()))

    @_op('MARK')
    def _mark(self):
        self.marks.append(self.stack)
        self.stack = []

    @_op('EMPTY_DICT')
    def _empty_dict(self):
        self.stack.append({})

    @_op('EMPTY_LIST')
    def _empty_list(self):
        self.stack.append([])

    @_op('EMPTY_TUPLE')
    def _empty_tuple(self):
        self.stack.append(())

    def _set_items(self, items):
        target = self.stack[-1]
        if type(target) not in (dict, OrderedDict, Counter):
            raise NotData(f'setting items of a {type(target).__name__}')
        for i in range(0, len(items) - 1, 2):
            target[items[i]] = items[i + 1]

    @_op('SETITEM')
    def _setitem(self):
        value = self.stack.pop()
        self._set_items([self.stack.pop(), value])

    @_op('SETITEMS')
    def _setitems(self):
        self._set_items(self._pop_mark())

    def _append(self, items):
        target = self.stack[-1]
        if type(target) is not list:
            raise NotData(f'appending to a {type(target).__name__}')
        target.extend(items)

    @_op('APPEND')
    def _append_one(self):
        self._append([self.stack.pop()])

    @_op('APPENDS')
    def _appends(self):
        self._append(self._pop_mark())

    @_op('TUPLE')
    def _tuple(self):
        items = tuple(self._pop_mark())  # before naming the outer stack
        self.stack.append(items)

    @_op('TUPLE1')
    def _tuple1(self):
        self.stack[-1:] = [tuple(self.stack[-1:])]

    @_op('TUPLE2')
    def _tuple2(self):
        self.stack[-2:] = [tuple(self.stack[-2:])]

    @_op('TUPLE3')
    def _tuple3(self):
        self.stack[-3:] = [tuple(self.stack[-3:])]

    @_op('NONE')
    def _none(self):
        self.stack.append(None)

    @_op('NEWTRUE')
    def _true(self):
        self.stack.append(True)

    @_op('NEWFALSE')
    def _false(self):
        self.stack.append(False)

    @_op('BININT')
    def _binint(self):
        self.stack.append(unpack('<i', self.read(4))[0])

    @_op('BININT1')
    def _binint1(self):
        self.stack.append(self.read(1)[0])

    @_op('BININT2')
    def _binint2(self):
        self.stack.append(unpack('<H', self.read(2))[0])

    @_op('LONG1')
    def _long1(self):
        self.stack.append(pickle.decode_long(self.read(self.read(1)[0])))

    @_op('BINFLOAT')
    def _binfloat(self):
        self.stack.append(unpack('>d', self.read(8))[0])

    @_op('BINUNICODE')
    def _binunicode(self):
        size = unpack('<I', self.read(4))[0]
        self.stack.append(str(self.read(size), 'utf-8', 'surrogatepass'))

    @_op('SHORT_BINSTRING')
    def _short_binstring(self):
        data = self.read(self.read(1)[0])
        self.stack.append(data if self.encoding == 'bytes' else
                          data.decode(self.encoding, 'strict'))

    @_op('BINPUT')
    def _binput(self):
        self.memo[self.read(1)[0]] = self.stack[-1]

    @_op('LONG_BINPUT')
    def _long_binput(self):
        self.memo[unpack('<I', self.read(4))[0]] = self.stack[-1]

    @_op('BINGET')
    def _binget(self):
        self._get(self.read(1)[0])

    @_op('LONG_BINGET')
    def _long_binget(self):
        self._get(unpack('<I', self.read(4))[0])

    def _get(self, index):
        if index not in self.memo:
            raise NotData(f'a pickle that refers to memo entry {index}, '
                          f'which it never set')
        self.stack.append(self.memo[index])


def data_pickle_module():
    """What ``torch.load(..., pickle_module=...)`` takes: a module-like
    object whose ``Unpickler`` is :class:`DataUnpickler`."""
    return SimpleNamespace(__name__=__name__, Unpickler=DataUnpickler)


def nesting_depth(obj, limit):
    """How deeply containers nest in ``obj`` (0 for a leaf), computed without
    recursion and visiting each container once; raises :class:`NotData` for
    a container that contains itself or nesting deeper than ``limit``."""
    depths, on_path = {}, set()
    todo = [(obj, False)]
    while todo:
        node, done = todo.pop()
        key = id(node)
        children = _children(node)
        if children is None or (key in depths and not done):
            continue
        if done:
            on_path.discard(key)
            depths[key] = 1 + max(
                (depths.get(id(c), 0) for c in children), default=0)
            if depths[key] > limit:
                raise NotData(f'containers nested more than {limit} deep')
            continue
        if key in on_path:
            raise NotData('a container that contains itself')
        on_path.add(key)
        todo.append((node, True))
        todo.extend((c, False) for c in children if id(c) not in depths)
    return depths.get(id(obj), 0)


def _children(node):
    if isinstance(node, dict):
        return [*node.keys(), *node.values()]
    if isinstance(node, (list, tuple, set, frozenset)):
        return list(node)
    if isinstance(node, HistoryBuffer):
        return list(vars(node).values())
    return None
