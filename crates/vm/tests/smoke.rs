mod common;

#[test]
fn first_program() {
    let src = r#"
a = sint.Array(10)
b = sint.Array(10)
c = sint.Array(10)
@for_range(10)
def _(i):
    a[i] = sint(i)
    b[i] = sint(2)
@for_range(10)
def _(i):
    c[i] = a[i] * b[i]
print_ln('%s', c.reveal())
x = sint.get_input_from(0)
y = sfix(1.5) * sfix(2.25)
print_ln('x=%s y=%s %s', x.reveal(), y.reveal(), (x < 3).reveal())
"#;
    for n in [2, 3] {
        let out = common::output(src, n, &["5"]);
        assert_eq!(out, "[0, 2, 4, 6, 8, 10, 12, 14, 16, 18]\nx=5 y=3.375 0\n");
    }
}
