"""The .mpc programs the tests run (the seed example is examples/seed.mpc)."""

# Reads two fixed-point secrets as sfix: their sum, the first doubled, their mean; prints
# whether the first is above 3.
SFIX = """
listen(10000)
c = regint()
acceptclientconnection(c, 10000)
v = sfix.read_from_socket(c, 2)
r = Array(3, sfix)
r[0] = v[0] + v[1]
r[1] = v[0] * 2
r[2] = (v[0] + v[1]) * 0.5
sfix.write_to_socket(c, r)
print_ln('above three: %s', (v[0] > 3).reveal())
"""

# Party 1's private input times the public input, printed.
PUBLIC_PRIVATE = """
n = public_input()
x = sint.get_input_from(1)
print_ln('product: %s', (x * n).reveal())
"""

# A chain of public_input() dependent multiplications (one round each): a game that runs for a
# while.
LONG = """
n = public_input()
acc = MemValue(sint(1))
@for_range(n)
def _(i):
    acc.write(acc.read() * sint(1))
print_ln('%s', acc.read().reveal())
"""

# The README's walk-through: the mean of a salary column (fixed point) and how many ages are
# above a threshold (integers), for n rows (program.args[1]).
MEAN_AND_COUNT = """
listen(10000)
c = regint()
acceptclientconnection(c, 10000)
n = int(program.args[1])
ages = sint.read_from_socket(c, n)
salaries = sfix.read_from_socket(c, n)
total = sfix(0)
for s in salaries:
    total = total + s
older = sint(0)
for a in ages:
    older = older + (a > 40)
out = Array(2, sfix)
out[0] = total * (1 / n)
out[1] = sfix(older)
sfix.write_to_socket(c, out)
"""

# More multiplications in one game than a dev cloud's MASCOT pools hold (2000 triples): the
# game waits while MASCOT makes the rest, and reports its progress.
MANY_TRIPLES = """
n = public_input()
x = sint(3, size=5000)
y = x * x
print_ln('%s', y[0].reveal())
"""
