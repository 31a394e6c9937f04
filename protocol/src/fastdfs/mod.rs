//! FastDFS wire protocol.
