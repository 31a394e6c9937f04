//! FastDFS tracker and storage servers.
