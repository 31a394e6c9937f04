//! A mogstored-like HTTP storage node.
