"""nnlib: the neural-network library built in the course *Neural Networks from Scratch*.

Each module but `testing` and `data`, which are written by hand, is generated from a chapter's notebook
(its `#| export` cells); import what you need from the module that holds it, e.g.
`from nnlib.derivatives import numerical_gradient`.
"""
