//! The compile-time Python subset, observed through `print` (the compile log).

mod common;
use common::*;

fn check(src: &str, expected: &str) {
    assert_eq!(log(src), expected, "program:\n{src}");
}

#[test]
fn integers_are_arbitrary_precision() {
    check(
        "print(2 ** 100, -7 // 2, -7 % 3, 7 % -3, 10 / 4, 1 << 70, (1 << 70) >> 68, -(2**63) - 1)",
        "1267650600228229401496703205376 -4 2 -2 2.5 1180591620717411303424 4 -9223372036854775809",
    );
    check("print(9223372036854775807 + 1, abs(-5), divmod(17, 5), pow(3, 200, 7), 0x1F, 0b101, 0o17, 1_000)",
        "9223372036854775808 5 (3, 2) 2 31 5 15 1000");
    check(
        "print(6 & 3, 6 | 3, 6 ^ 3, ~5, -(-3), int('-12'), int(3.9), int(-3.9), True + True)",
        "2 7 5 -6 3 -12 3 -3 2",
    );
}

#[test]
fn floats_and_formatting() {
    check("print(1.0, 0.1 + 0.2, 1e20, 1.5e-7, 2.0 ** 0.5, float('2.5'), round(2.5), round(3.5), round(2.675, 2))",
        "1.0 0.30000000000000004 1e+20 1.5e-07 1.4142135623730951 2.5 2 4 2.67");
    check(
        "print('%d|%5.2f|%s|%r|%x|%-4s|%04d|%%' % (42, 3.14159, 'hi', 'hi', 255, 'ab', 7))",
        "42| 3.14|hi|'hi'|ff|ab  |0007|%",
    );
    check("print('{} {:>5} {:<3}| {:^7} {:.3f} {:e} {:,} {:08.2f} {!r}'.format(1, 'ab', 'c', 'mid', 1/3, 12345.678, 1234567, -3.14159, 'q'))",
        "1    ab c  |   mid   0.333 1.234568e+04 1,234,567 -0003.14 'q'");
    check(
        "x = 5\nname = 'v'\nprint(f'{name}={x:03d} {x*2} {x!r} {3.5:.1f} {x=}')",
        "v=005 10 5 3.5 x=5",
    );
    check(
        "print('{0}{1}{0} {a[1]} {b.real}'.format('x', 'y', a=[1, 2], b=2.5))",
        "xyx 2 2.5",
    );
}

#[test]
fn strings() {
    check("s = 'Hello, World'\nprint(s.lower(), s.upper(), s.split(', '), s[::-1], s[7:], len(s), 'lo' in s, s.find('o'), s.replace('l', 'L', 2))",
        "hello, world HELLO, WORLD ['Hello', 'World'] dlroW ,olleH World 12 True 4 HeLLo, World");
    check("print('-'.join(['a', 'b']), ' x '.strip(), 'a,b,,c'.split(','), 'ab' * 3, str(12).zfill(5), 'abc'.startswith('ab'), repr(\"it's\"))",
        "a-b x ['a', 'b', '', 'c'] ababab 00012 True \"it's\"");
}

#[test]
fn lists_tuples_slicing_unpacking() {
    check("l = [5, 3, 8, 1]\nl.append(9)\nl.insert(0, 0)\nl.remove(8)\nx = l.pop()\nl.sort(reverse=True)\nprint(l, x, l[1:3], l[-1], l[::2], sorted(l), l.index(3), l.count(5))",
        "[5, 3, 1, 0] 9 [3, 1] 0 [5, 1] [0, 1, 3, 5] 1 1");
    check("a, (b, c), *d = 1, (2, 3), 4, 5\nfirst, *mid, last = range(5)\nprint(a, b, c, d, first, mid, last)", "1 2 3 [4, 5] 0 [1, 2, 3] 4");
    check("l = list(range(10))\nl[2:5] = ['x']\ndel l[0]\ndel l[-2:]\nprint(l, l + [1], [0] * 3, (1,) * 2, tuple(l[:2]), list(reversed([1, 2])))",
        "[1, 'x', 5, 6, 7] [1, 'x', 5, 6, 7, 1] [0, 0, 0] (1, 1) (1, 'x') [2, 1]");
    check("m = [[0] * 2 for _ in range(2)]\nm[0][1] = 5\nprint(m, [1, 2] == [1, 2], (1, 2) < (1, 3), [1, 2] is [1, 2], 3 in (1, 2, 3))",
        "[[0, 5], [0, 0]] True True False True");
}

#[test]
fn dicts_and_sets() {
    check("d = {'b': 1, 'a': 2}\nd['c'] = 3\nd.update(x=4)\nprint(d, list(d.keys()), list(d.values()), d.get('z', 0), 'a' in d, d.pop('b'), len(d))",
        "{'a': 2, 'c': 3, 'x': 4} ['b', 'a', 'c', 'x'] [1, 2, 3, 4] 0 True 1 3");
    check("s = {3, 1, 2}\ns.add(1)\ns.add(5)\nt = {2, 5, 7}\nprint(len(s), sorted(s | t), sorted(s & t), sorted(s - t), 5 in s, set())",
        "4 [1, 2, 3, 5, 7] [2, 5] [1, 3] True set()");
    check("d = {(1, 2): 'a', 3: 'b'}\nd[1.0] = 'c'\nprint(d[(1, 2)], d[True], dict(zip('ab', [1, 2])), {k: k * k for k in range(3)})",
        "a c {'a': 1, 'b': 2} {0: 0, 1: 1, 2: 4}");
}

#[test]
fn functions_closures_defaults_varargs() {
    check("def f(a, b=2, *args, c=3, **kw):\n    return (a, b, args, c, sorted(kw.items()))\nprint(f(1), f(1, 5, 6, 7, c=8, z=9), f(b=1, a=0))",
        "(1, 2, (), 3, []) (1, 5, (6, 7), 8, [('z', 9)]) (0, 1, (), 3, [])");
    check("def counter():\n    n = 0\n    def inc():\n        nonlocal n\n        n += 1\n        return n\n    return inc\nc = counter()\nc(); c()\nprint(c())", "3");
    check("total = 0\ndef add(x):\n    global total\n    total += x\nfor i in range(4):\n    add(i)\nprint(total)", "6");
    check("adders = [lambda x, k=k: x + k for k in range(3)]\nprint([f(10) for f in adders], (lambda *a: sum(a))(1, 2, 3))", "[10, 11, 12] 6");
    check(
        "def fact(n):\n    return 1 if n <= 1 else n * fact(n - 1)\nprint(fact(25))",
        "15511210043330985984000000",
    );
    check("def deco(f):\n    def w(*a):\n        return f(*a) * 2\n    return w\n@deco\ndef g(x, y):\n    return x + y\nargs = [1, 2]\nkw = {'y': 5}\nprint(g(*args), g(1, 5))\ndef h(x, y=0):\n    return x - y\nprint(h(1, **kw))", "6 12\n-4");
}

#[test]
fn comprehensions_and_builtins() {
    check("print([x * y for x in range(3) for y in range(3) if x != y], sum(x for x in range(5)), {x % 3 for x in range(10)})",
        "[0, 0, 0, 2, 0, 2] 10 {0, 1, 2}");
    check("print(list(zip([1, 2, 3], 'ab')), list(enumerate('xy', 1)), list(map(str, [1, 2])), list(filter(None, [0, 1, 2])))",
        "[(1, 'a'), (2, 'b')] [(1, 'x'), (2, 'y')] ['1', '2'] [1, 2]");
    check("print(min([3, 1, 2]), max(3, 7, 5), min('bca'), max([1, 2], key=lambda v: -v), any([]), all([1, 1]), sorted(['b', 'A', 'c'], key=str.lower if False else None))",
        "1 7 a 1 False True ['A', 'b', 'c']");
    check("print(isinstance(1, int), isinstance(True, int), isinstance('a', (int, str)), type(1.0) == float, chr(65), ord('a'), hex(255), bin(5), len(range(0, 10, 3)))",
        "True True True True A 97 0xff 0b101 4");
}

#[test]
fn control_flow_statements() {
    check("out = []\nfor i in range(10):\n    if i == 2:\n        continue\n    if i == 5:\n        break\n    out.append(i)\nelse:\n    out.append('no')\nprint(out)", "[0, 1, 3, 4]");
    check(
        "i = 0\nwhile True:\n    i += 1\n    if i > 3:\n        break\nprint(i)",
        "4",
    );
    check(
        "x = 5\nif x < 3:\n    print('a')\nelif x < 6:\n    print('b')\nelse:\n    print('c')",
        "b",
    );
    check("r = []\nfor x in range(3):\n    try:\n        if x == 1:\n            raise ValueError('bad %d' % x)\n        r.append(x)\n    except ValueError as e:\n        r.append(str(e))\n    finally:\n        r.append('f')\nprint(r)",
        "[0, 'f', 'bad 1', 'f', 2, 'f']");
    check("try:\n    {}['k']\nexcept (IndexError, KeyError):\n    print('caught')\ntry:\n    1 / 0\nexcept Exception:\n    print('zero')", "caught\nzero");
    check(
        "print(1 if [] else 2, 0 or 'x', 3 and 4, not None, (n := 7) + n)",
        "2 x 4 True 14",
    );
}

#[test]
fn classes() {
    check("class V:\n    dims = 2\n    def __init__(self, x, y):\n        self.x, self.y = x, y\n    def __add__(self, o):\n        return V(self.x + o.x, self.y + o.y)\n    def __mul__(self, k):\n        return V(self.x * k, self.y * k)\n    def __eq__(self, o):\n        return (self.x, self.y) == (o.x, o.y)\n    def __str__(self):\n        return 'V(%s, %s)' % (self.x, self.y)\n    def __len__(self):\n        return 2\nv = V(1, 2) + V(3, 4) * 2\nprint(v, V.dims, v == V(7, 10), len(v), str(v))",
        "V(7, 10) 2 True 2 V(7, 10)");
    check("class A:\n    def who(self):\n        return 'A'\n    def hello(self):\n        return 'hello ' + self.who()\nclass B(A):\n    def who(self):\n        return 'B'\nb = B()\nprint(b.hello(), isinstance(b, A), isinstance(A(), B), hasattr(b, 'who'), getattr(b, 'nope', 0))",
        "hello B True False True 0");
    check("class E(Exception):\n    pass\ntry:\n    raise E('oops')\nexcept E as e:\n    print('got', e)", "got oops");
    check("class Stack:\n    def __init__(self):\n        self.items = []\n    def push(self, x):\n        self.items.append(x)\n        return self\n    def __getitem__(self, i):\n        return self.items[i]\ns = Stack().push(1).push(2)\nprint(s[1], [x for x in s.items])", "2 [1, 2]");
}

#[test]
fn modules() {
    check("import math\nfrom math import sqrt as sq\nprint(math.sqrt(16), sq(2.25), math.floor(2.7), math.ceil(2.1), math.log(math.e), math.log2(1024), math.gcd(12, 18), math.isqrt(17), math.inf > 1e308)",
        "4.0 1.5 2 3 1.0 10.0 6 4 True");
    check("from Compiler.types import *\nfrom Compiler.library import for_range, print_ln\nfrom Compiler import mpc_math\nimport Compiler.util\nimport operator\nfrom functools import reduce\nprint(reduce(operator.mul, [1, 2, 3, 4]), mpc_math.sqrt(4.0), sint is not None)",
        "24 2.0 True");
    check("import itertools\nprint(list(itertools.product([0, 1], repeat=2)), list(itertools.combinations('abc', 2)), list(itertools.chain([1], [2])))",
        "[(0, 0), (0, 1), (1, 0), (1, 1)] [('a', 'b'), ('a', 'c'), ('b', 'c')] [1, 2]");
}

#[test]
fn program_object() {
    let p = lang::compile(
        "print(program.args, program.name, program.bit_length, program.security)\nprogram.set_bit_length(32)\nprint(program.bit_length)",
        "dir/my_prog.mpc",
        &["10".to_string(), "x".to_string()],
        &lang::CompileOptions::default(),
    )
    .unwrap();
    assert_eq!(p.log, vec!["['my_prog', '10', 'x'] my_prog 64 40", "32"]);
    assert_eq!(p.bytecode.params.bit_length, 32);
}

#[test]
fn assert_passes_and_print_options() {
    check(
        "assert 1 + 1 == 2, 'math'\nprint('a', 'b', sep='-', end='!')\nprint()",
        "a-b!\n",
    );
}

#[test]
fn copy_module_and_program_options() {
    check("import copy\nfrom copy import deepcopy\na = [[1, 2], {'k': [3]}]\nb = copy.copy(a)\nc = deepcopy(a)\na[0].append(9)\na[1]['k'].append(4)\nprint(b, c)\nclass P:\n    pass\np = P()\np.v = [1]\nq = copy.copy(p)\nq.v.append(2)\nr = deepcopy(p)\nr.v.append(3)\nprint(p.v, r.v)",
        "[[1, 2, 9], {'k': [3, 4]}] [[1, 2], {'k': [3]}]\n[1, 2] [1, 2, 3]");
    check("program.options.merge_opens = False\nprogram.options.binary = 32\nprint(program.options.binary)\nArray.check_indices = False\nMultiArray.disable_index_checks()", "32");
}
