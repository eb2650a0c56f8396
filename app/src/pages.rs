//! One module per page.

mod access;
mod alerts;
mod compare;
mod execution;
mod execution_list;
mod login;
mod stats;

pub use access::AccessPage;
pub use alerts::AlertsPage;
pub use compare::ComparePage;
pub use execution::ExecutionPage;
pub use execution_list::ExecutionListPage;
pub use login::LoginPage;
pub use stats::StatsPage;
