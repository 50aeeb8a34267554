"""An equation g = 0 as the analysis prints it: the parameter-free terms on the right, the content divided out,
solved for a parameter where g is linear in it with a constant coefficient (``y = x**2``), else kept implicit
(``x**2 + y**2 = 1``, ``x*y = 0``)."""

from __future__ import annotations

import sympy


def equation_text(g: sympy.Expr, *, solve: bool = False) -> str:
    """``g = 0`` written plainly; with ``solve``, for the first parameter (in name order) that appears in g only as
    a constant multiple of itself.

    >>> x, y = sympy.symbols("x y", real=True)
    >>> equation_text(2 * x**2 + 2 * y**2 - 5), equation_text(x**2 + y**2 - 1 - sympy.pi), equation_text(-x - y + 3)
    ('x**2 + y**2 = 5/2', 'x**2 + y**2 = 1 + pi', 'x + y = 3')
    >>> equation_text(y - x**2, solve=True), equation_text(x * y, solve=True)
    ('y = x**2', 'x*y = 0')
    """
    g = sympy.expand(g)
    if solve and g.is_polynomial(*g.free_symbols):
        for s in sorted(g.free_symbols, key=lambda v: v.name):
            slope = sympy.diff(g, s)
            if slope.is_number and slope != 0:
                return f"{s} = {sympy.sstr(sympy.expand(s - g / slope))}"
    constant, rest = g.as_independent(*g.free_symbols, as_Add=True)
    content, rest = rest.as_content_primitive()
    if rest.could_extract_minus_sign():  # −x − y + π: x + y = pi
        content, rest = -content, -rest
    return f"{sympy.sstr(rest)} = {sympy.sstr(sympy.expand(-constant / content))}"
