//! The stoppable TCP service, shared by every devcluster server (see
//! [`crate::service`]).

pub(crate) use crate::service::{Handler, Service};
