# Compile-time library written in the dialect itself, evaluated in the sandbox before every
# program (crates/lang/src/prelude.rs). It gives CPython's behaviour for the parts of
# `collections`, `functools` and `itertools` that need classes or closures, and MP-SPDZ's
# Python-level helpers (`types.getNamedTupleType`, `compilerLib.Compiler`). Names starting with
# `_` are private; module attributes are looked up here by name (see `prelude::EXPORTS`).


# ---- collections ---------------------------------------------------------------------------

def namedtuple(typename, field_names, rename=False, defaults=None, module=None):
    if isinstance(field_names, str):
        field_names = field_names.replace(',', ' ').split()
    fields = tuple(field_names)
    n_fields = len(fields)
    if defaults is None:
        defaults = ()
    defaults = tuple(defaults)

    class _NamedTuple:
        _fields = fields
        _field_defaults = dict(zip(fields[n_fields - len(defaults):], defaults))

        def __init__(self, *args, **kwargs):
            values = list(args)
            if len(values) > n_fields:
                raise TypeError(typename + '() takes ' + str(n_fields) + ' positional arguments but ' + str(len(values)) + ' were given')
            for i in range(len(values), n_fields):
                name = fields[i]
                if name in kwargs:
                    values.append(kwargs[name])
                elif name in _NamedTuple._field_defaults:
                    values.append(_NamedTuple._field_defaults[name])
                else:
                    raise TypeError(typename + "() missing required argument: '" + name + "'")
            for i in range(n_fields):
                setattr(self, fields[i], values[i])

        def __getitem__(self, i):
            return tuple(self)[i]

        def __len__(self):
            return n_fields

        def __iter__(self):
            return [getattr(self, f) for f in fields]

        def __eq__(self, other):
            return tuple(self) == tuple(other)

        def __ne__(self, other):
            return tuple(self) != tuple(other)

        def __repr__(self):
            return typename + '(' + ', '.join(f + '=' + repr(getattr(self, f)) for f in fields) + ')'

        __str__ = __repr__

        def _asdict(self):
            return dict((f, getattr(self, f)) for f in fields)

        def _replace(self, **kwargs):
            values = [kwargs.get(f, getattr(self, f)) for f in fields]
            return _NamedTuple(*values)

    def _make(iterable):
        return _NamedTuple(*list(iterable))

    _NamedTuple._make = _make
    return _NamedTuple


class defaultdict:
    def __init__(self, default_factory=None, *args, **kwargs):
        self.default_factory = default_factory
        self._d = dict(*args, **kwargs)

    def __getitem__(self, key):
        if key in self._d:
            return self._d[key]
        if self.default_factory is None:
            raise KeyError(key)
        v = self.default_factory()
        self._d[key] = v
        return v

    def __setitem__(self, key, value):
        self._d[key] = value

    def __contains__(self, key):
        return key in self._d

    def __len__(self):
        return len(self._d)

    def __iter__(self):
        return list(self._d)

    def __eq__(self, other):
        if isinstance(other, dict):
            return self._d == other
        return self._d == other._d

    def __repr__(self):
        return 'defaultdict(' + repr(self.default_factory) + ', ' + repr(self._d) + ')'

    __str__ = __repr__

    def keys(self):
        return self._d.keys()

    def values(self):
        return self._d.values()

    def items(self):
        return self._d.items()

    def get(self, key, default=None):
        return self._d.get(key, default)

    def pop(self, key, *default):
        return self._d.pop(key, *default)

    def setdefault(self, key, default=None):
        return self._d.setdefault(key, default)

    def update(self, *args, **kwargs):
        self._d.update(*args, **kwargs)

    def copy(self):
        return defaultdict(self.default_factory, self._d)

    def clear(self):
        self._d.clear()


def OrderedDict(*args, **kwargs):
    # Python dicts keep insertion order.
    return dict(*args, **kwargs)


class Counter:
    def __init__(self, iterable=None, **kwargs):
        self._d = {}
        self.update(iterable, **kwargs)

    def update(self, iterable=None, **kwargs):
        if iterable is not None:
            if isinstance(iterable, dict) or isinstance(iterable, Counter):
                for k in iterable.keys():
                    self._d[k] = self._d.get(k, 0) + iterable[k]
            else:
                for k in iterable:
                    self._d[k] = self._d.get(k, 0) + 1
        for k in kwargs:
            self._d[k] = self._d.get(k, 0) + kwargs[k]

    def subtract(self, iterable=None, **kwargs):
        if iterable is not None:
            if isinstance(iterable, dict) or isinstance(iterable, Counter):
                for k in iterable.keys():
                    self._d[k] = self._d.get(k, 0) - iterable[k]
            else:
                for k in iterable:
                    self._d[k] = self._d.get(k, 0) - 1
        for k in kwargs:
            self._d[k] = self._d.get(k, 0) - kwargs[k]

    def __getitem__(self, key):
        return self._d.get(key, 0)

    def __setitem__(self, key, value):
        self._d[key] = value

    def __contains__(self, key):
        return key in self._d

    def __len__(self):
        return len(self._d)

    def __iter__(self):
        return list(self._d)

    def keys(self):
        return self._d.keys()

    def values(self):
        return self._d.values()

    def items(self):
        return self._d.items()

    def get(self, key, default=None):
        return self._d.get(key, default)

    def total(self):
        return sum(self._d.values())

    def elements(self):
        out = []
        for k in self._d:
            out.extend([k] * max(self._d[k], 0))
        return out

    def most_common(self, n=None):
        items = sorted(self._d.items(), key=lambda kv: -kv[1])
        if n is None:
            return items
        return items[:n]

    def __eq__(self, other):
        return self._d == dict(other.items())

    def __repr__(self):
        return 'Counter(' + repr(dict(self.most_common())) + ')'

    __str__ = __repr__


class deque:
    def __init__(self, iterable=(), maxlen=None):
        self.maxlen = maxlen
        self._l = []
        for x in iterable:
            self.append(x)

    def append(self, x):
        self._l.append(x)
        if self.maxlen is not None and len(self._l) > self.maxlen:
            self._l.pop(0)

    def appendleft(self, x):
        self._l.insert(0, x)
        if self.maxlen is not None and len(self._l) > self.maxlen:
            self._l.pop()

    def extend(self, xs):
        for x in xs:
            self.append(x)

    def extendleft(self, xs):
        for x in xs:
            self.appendleft(x)

    def pop(self):
        if not self._l:
            raise IndexError('pop from an empty deque')
        return self._l.pop()

    def popleft(self):
        if not self._l:
            raise IndexError('pop from an empty deque')
        return self._l.pop(0)

    def rotate(self, n=1):
        if self._l:
            n = n % len(self._l)
            self._l = self._l[len(self._l) - n:] + self._l[:len(self._l) - n]

    def clear(self):
        self._l = []

    def count(self, x):
        return self._l.count(x)

    def __getitem__(self, i):
        return self._l[i]

    def __setitem__(self, i, v):
        self._l[i] = v

    def __len__(self):
        return len(self._l)

    def __iter__(self):
        return list(self._l)

    def __contains__(self, x):
        return x in self._l

    def __eq__(self, other):
        return list(self) == list(other)

    def __repr__(self):
        return 'deque(' + repr(self._l) + ')'

    __str__ = __repr__


# ---- functools -----------------------------------------------------------------------------

class partial:
    def __init__(self, func, *args, **keywords):
        self.func = func
        self.args = args
        self.keywords = keywords

    def __call__(self, *args, **keywords):
        kw = dict(self.keywords)
        kw.update(keywords)
        return self.func(*(self.args + args), **kw)


def lru_cache(maxsize=128, typed=False):
    # Compile-time functions are pure enough for MPC programs; caching is only an
    # optimisation, so the decorator returns the function itself.
    if callable(maxsize):
        return maxsize
    return lambda f: f


def cache(f):
    return f


def wraps(wrapped, assigned=None, updated=None):
    return lambda f: f


def total_ordering(cls):
    return cls


def cmp_to_key(mycmp):
    class K:
        def __init__(self, obj):
            self.obj = obj

        def __lt__(self, other):
            return mycmp(self.obj, other.obj) < 0

        def __gt__(self, other):
            return mycmp(self.obj, other.obj) > 0

        def __eq__(self, other):
            return mycmp(self.obj, other.obj) == 0

        def __le__(self, other):
            return mycmp(self.obj, other.obj) <= 0

        def __ge__(self, other):
            return mycmp(self.obj, other.obj) >= 0

    return K


# ---- itertools (the parts without a native implementation) ---------------------------------

def combinations_with_replacement(iterable, r):
    pool = tuple(iterable)
    n = len(pool)
    out = []

    def rec(start, cur):
        if len(cur) == r:
            out.append(tuple(cur))
            return
        for i in range(start, n):
            rec(i, cur + [pool[i]])

    if n or not r:
        rec(0, [])
    return out


def islice(iterable, *args):
    items = list(iterable)
    if len(args) == 1:
        start, stop, step = 0, args[0], 1
    else:
        start, stop = args[0], args[1]
        step = args[2] if len(args) > 2 else 1
    if start is None:
        start = 0
    if stop is None:
        stop = len(items)
    if step is None:
        step = 1
    return items[start:stop:step]


def zip_longest(*iterables, fillvalue=None):
    lists = [list(x) for x in iterables]
    n = max([len(l) for l in lists] + [0])
    return [tuple(l[i] if i < len(l) else fillvalue for l in lists) for i in range(n)]


def starmap(function, iterable):
    return [function(*args) for args in iterable]


def compress(data, selectors):
    return [d for d, s in zip(data, selectors) if s]


def takewhile(predicate, iterable):
    out = []
    for x in iterable:
        if not predicate(x):
            break
        out.append(x)
    return out


def dropwhile(predicate, iterable):
    out = []
    dropping = True
    for x in iterable:
        if dropping and predicate(x):
            continue
        dropping = False
        out.append(x)
    return out


def filterfalse(predicate, iterable):
    if predicate is None:
        return [x for x in iterable if not x]
    return [x for x in iterable if not predicate(x)]


def pairwise(iterable):
    items = list(iterable)
    return [(items[i], items[i + 1]) for i in range(len(items) - 1)]


def groupby(iterable, key=None):
    out = []
    for x in iterable:
        k = x if key is None else key(x)
        if out and out[-1][0] == k:
            out[-1][1].append(x)
        else:
            out.append((k, [x]))
    return out


def tee(iterable, n=2):
    items = list(iterable)
    return tuple(list(items) for _ in range(n))


def batched(iterable, n):
    items = list(iterable)
    return [tuple(items[i:i + n]) for i in range(0, len(items), n)]


def from_iterable(iterables):
    out = []
    for x in iterables:
        out.extend(x)
    return out


# ---- MP-SPDZ: Compiler.types.getNamedTupleType ----------------------------------------------

def getNamedTupleType(*names):
    class NamedTuple(object):
        class NamedTupleArray(object):
            def __init__(self, size, t):
                self.arrays = [Array(size, t) for i in range(len(names))]

            def __getitem__(self, index):
                return NamedTuple([array[index] for array in self.arrays])

            def __setitem__(self, index, item):
                for array, value in zip(self.arrays, item):
                    array[index] = value

            def __len__(self):
                return len(self.arrays[0])

        def __init__(self, *args):
            if len(args) == 1:
                args = args[0]
            for name, value in zip(names, args):
                setattr(self, name, value)

        def __iter__(self):
            return [getattr(self, name) for name in names]

        def __len__(self):
            return len(names)

        def __getitem__(self, i):
            return getattr(self, names[i])

        def __add__(self, other):
            return NamedTuple([i + j for i, j in zip(self, other)])

        def __sub__(self, other):
            return NamedTuple([i - j for i, j in zip(self, other)])

        def __xor__(self, other):
            return NamedTuple([i ^ j for i, j in zip(self, other)])

        def __mul__(self, other):
            return NamedTuple([other * i for i in self])

        __rmul__ = __mul__
        __rxor__ = __xor__

        def reveal(self):
            return NamedTuple([x.reveal() for x in self])

    def get_array(size, t):
        return NamedTuple.NamedTupleArray(size, t)

    NamedTuple.get_array = get_array
    return NamedTuple


# ---- MP-SPDZ: Compiler.compilerLib.Compiler (a program that compiles itself) ----------------

class _Values:
    pass


class _OptionParser:
    def __init__(self, usage=None):
        self.usage = usage
        self._options = []

    def add_option(self, *flags, **kwargs):
        dest = kwargs.get('dest')
        if dest is None:
            long = [f for f in flags if f.startswith('--')]
            dest = (long[0] if long else flags[0]).lstrip('-').replace('-', '_')
        self._options.append((flags, dest, kwargs.get('action', 'store'), kwargs.get('default')))

    def error(self, msg):
        raise CompilerError('option error: ' + msg)

    def parse_args(self, args):
        values = _Values()
        for flags, dest, action, default in self._options:
            setattr(values, dest, default)
        rest = []
        i = 0
        while i < len(args):
            a = args[i]
            matched = False
            for flags, dest, action, default in self._options:
                for f in flags:
                    if a == f or (f.startswith('--') and a.startswith(f + '=')):
                        matched = True
                        if action == 'store_true':
                            setattr(values, dest, True)
                        elif action == 'store_false':
                            setattr(values, dest, False)
                        elif '=' in a and a.startswith('--'):
                            setattr(values, dest, a.split('=', 1)[1])
                        else:
                            if i + 1 >= len(args):
                                self.error(f + ' requires an argument')
                            i += 1
                            setattr(values, dest, args[i])
                        break
                if matched:
                    break
            if not matched:
                rest.append(a)
            i += 1
        return values, rest


class Compiler:
    def __init__(self, custom_args=None, usage=None, execute=False, split_args=False):
        self.usage = usage
        self.parser = _OptionParser(usage)
        self.custom_args = custom_args
        self.options = _Values()
        self.args = []
        self._functions = []

    def parse_args(self):
        # The program's arguments (`ephemeral run prog.mpc ARGS...`) play the role of the
        # command line.
        argv = self.custom_args if self.custom_args is not None else program.args[1:]
        self.options, self.args = self.parser.parse_args(list(argv))
        return self.options, self.args

    def register_function(self, name=None):
        def decorator(f):
            self._functions.append(f)
            return f
        return decorator

    def compile_func(self):
        for f in self._functions:
            f()

    def compile_file(self):
        raise CompilerError('Compiler.compile_file: a program cannot compile another file here')


def accumulate(iterable, func=None, initial=None):
    out = []
    acc = initial
    started = initial is not None
    if started:
        out.append(acc)
    for x in iterable:
        if not started:
            acc = x
            started = True
        elif func is None:
            acc = acc + x
        else:
            acc = func(acc, x)
        out.append(acc)
    return out


def repeat(obj, times=None):
    if times is None:
        raise ValueError('itertools.repeat without times is infinite; give a count (or use range)')
    return [obj] * max(times, 0)


# ---- operator (the parts without a native implementation) ----------------------------------

def itemgetter(*items):
    if len(items) == 1:
        item = items[0]
        return lambda obj: obj[item]
    return lambda obj: tuple(obj[i] for i in items)


def attrgetter(*attrs):
    def get(obj, name):
        for part in name.split('.'):
            obj = getattr(obj, part)
        return obj
    if len(attrs) == 1:
        return lambda obj: get(obj, attrs[0])
    return lambda obj: tuple(get(obj, a) for a in attrs)


def methodcaller(name, *args, **kwargs):
    return lambda obj: getattr(obj, name)(*args, **kwargs)


def operator_pow(a, b):
    return a ** b


def not_(a):
    return not a


def truth(a):
    return bool(a)


def getitem(a, b):
    return a[b]


def lshift(a, b):
    return a << b


def rshift(a, b):
    return a >> b


def invert(a):
    return ~a


inv = invert


def operator_abs(a):
    return abs(a)


def index(a):
    return int(a)


def concat(a, b):
    return a + b


def contains(a, b):
    return b in a


def is_(a, b):
    return a is b


def is_not(a, b):
    return a is not b


def matmul(a, b):
    return a @ b


def pos(a):
    return +a


# ---- MP-SPDZ: Compiler.util helpers that are plain Python -----------------------------------

def log2(x):
    # MP-SPDZ's util.log2: the ceiling of log2 for compile-time numbers.
    if isinstance(x, int) or isinstance(x, float):
        n = 0
        while 2 ** n < x:
            n += 1
        return n
    return x.log2()


def tuplify(x):
    if isinstance(x, tuple) or isinstance(x, list):
        return tuple(x)
    return (x,)


def untuplify(x):
    if len(x) == 1:
        return x[0]
    return x


def is_constant(x):
    return isinstance(x, int) or isinstance(x, bool)


def is_constant_float(x):
    return isinstance(x, float) or is_constant(x)


def is_zero(x):
    return is_constant(x) and x == 0


def is_one(x):
    return is_constant(x) and x == 1


def is_all_ones(x, n):
    return is_constant(x) and x == 2 ** n - 1


def bit_decompose(a, bits=None):
    if is_constant(a):
        if bits is None:
            bits = len(bin(a)) - 2
        return [(a >> i) & 1 for i in range(bits)]
    if bits is None:
        return a.bit_decompose()
    return a.bit_decompose(bits)


def bit_compose(bits):
    bits = list(bits)
    res = 0
    for i in range(len(bits)):
        res = res + bits[i] * 2 ** i
    return res


def series(a):
    out = []
    total = 0
    for x in a:
        total = total + x
        out.append(total)
    return out


def pow2_value(a, bit_length=None):
    return 2 ** a


def int_len(x):
    return len(bin(x)) - 2


def round_to_int(x):
    if is_constant_float(x):
        return int(round(x))
    return x.round_to_int()


def expand(x, size):
    if is_constant_float(x):
        return x
    return x.expand_to_vector(size)


def irepeat(l, n):
    out = []
    for x in l:
        out.extend([x] * n)
    return out


# ---- MP-SPDZ: sint.inverse_permutation (types.py, without the INVPERM instruction) ----------

def _inverse_permutation(x):
    # Shuffle the permutation with a fresh secure shuffle and reveal it (a uniformly random
    # permutation, independent of x); the shuffled identity scattered to those positions is
    # the inverse.
    n = len(x)
    shuffle = sint.get_secure_shuffle(n)
    shuffled = Array.create_from(x.secure_permute(shuffle).reveal())
    res = Array.create_from(sint(regint.inc(n)))
    res.secure_permute(shuffle)
    out = sint.Array(n)

    @for_range(n)
    def _(i):
        out[shuffled[i]] = res[i]

    return out.get_vector()
