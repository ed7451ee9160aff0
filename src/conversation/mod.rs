//! Conversations: the playbooks that drive them.

pub mod playbook;
pub mod playbook_catalog;
