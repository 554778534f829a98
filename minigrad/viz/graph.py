"""The autograd graph of a result as a picture: Graphviz DOT text (render it with
``dot -Tsvg graph.dot -o graph.svg``, or paste it into any Graphviz viewer). Needs no
package beyond minigrad.

    dot = mg.viz.autograd_graph(loss, params=dict(model.named_parameters()))
    open("graph.dot", "w").write(dot)

Op nodes (boxes) are the Functions the backward will run, named by class; leaf nodes
(ovals) are the tensors that receive gradients, named from ``params`` when given, with
their shapes; the result is the double oval at the top. Edges point from an input to the
op that used it, in the direction of the forward pass.
"""
from __future__ import annotations

__all__ = ["autograd_graph"]


def _quote(text):
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def autograd_graph(output, params=None, show_shapes=True):
    """DOT text of the graph that produced ``output`` (a tensor with a graph).

    >>> import minigrad as mg
    >>> w = mg.ones(2, requires_grad=True)
    >>> dot = autograd_graph((w * 3).sum(), params={"w": w})
    >>> "Mul" in dot and "Sum" in dot and '"w (2,)"' in dot
    True
    """
    from ..autograd.function import AccumulateGrad

    if output.creator is None:
        raise ValueError("autograd_graph: the tensor has no graph (it is a leaf, or was made "
                         "under no_grad)")
    names = {id(t): n for n, t in (params or {}).items()}
    lines = ["digraph autograd {", '  node [fontname="Helvetica", fontsize=10];']
    ids = {}

    def node_id(node):
        key = id(node.variable) if isinstance(node, AccumulateGrad) else id(node)
        if key not in ids:
            ids[key] = f"n{len(ids)}"
            if isinstance(node, AccumulateGrad):
                t = node.variable
                label = names.get(id(t), "leaf")
                if show_shapes:
                    label += f" {tuple(t.shape)}"
                lines.append(f"  {ids[key]} [label={_quote(label)}, shape=ellipse, "
                             "style=filled, fillcolor=lightblue];")
            else:
                lines.append(f"  {ids[key]} [label={_quote(node.name)}, shape=box];")
        return ids[key]

    top = "result"
    label = "output" + (f" {tuple(output.shape)}" if show_shapes else "")
    lines.append(f"  {top} [label={_quote(label)}, shape=doubleoctagon];")
    lines.append(f"  {node_id(output.creator)} -> {top};")
    seen, stack = set(), [output.creator]
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        for child, _ in fn.next_functions:
            if child is None:
                continue
            lines.append(f"  {node_id(child)} -> {node_id(fn)};")
            if not isinstance(child, AccumulateGrad):
                stack.append(child)
    lines.append("}")
    return "\n".join(lines) + "\n"
