//! End-to-end: the admin API on its own address (DESIGN.md §6). So far `/metrics` and
//! `/health`; the rest arrives with issue 6.

mod common;

use common::*;

#[test]
fn the_admin_api_is_not_served_on_a_data_listener() {
    let origin = Origin::echo();
    let lb = Balancer::start("auto", &config(&[origin.addr], "", ""));
    assert_ne!(lb.admin_addr(), lb.addr);
    let r = lb
        .client()
        .request("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n");
    // The data listener forwards it like any request: the target answers.
    assert_eq!(r.body_text(), "GET /metrics HTTP/1.1");
    assert_eq!(lb.admin_get("/health").0, 200);
}

#[test]
fn a_configured_token_is_required_as_a_bearer_token() {
    let origin = Origin::echo();
    let toml = config(&[origin.addr], "", "").replace(
        "admin = \"127.0.0.1:0\"",
        "admin = \"127.0.0.1:0\"\nadmin_token = \"s3cret\"",
    );
    let lb = Balancer::start("auto", &toml);
    assert_eq!(lb.admin_get("/metrics").0, 401);
    let mut client = Client::connect(lb.admin_addr());
    let r =
        client.request("GET /metrics HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer s3cres\r\n\r\n");
    assert_eq!(r.status, 401);
    let mut client = Client::connect(lb.admin_addr());
    let r =
        client.request("GET /metrics HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer s3cret\r\n\r\n");
    assert_eq!(r.status, 200);
    assert!(r.body_text().contains("ringway_new_connections_total"));
}

#[test]
fn other_methods_and_paths_get_405_and_404() {
    let origin = Origin::echo();
    let lb = Balancer::start("auto", &config(&[origin.addr], "", ""));
    let mut client = Client::connect(lb.admin_addr());
    let r = client.request("POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(r.status, 405);
    assert_eq!(lb.admin_get("/target-groups").0, 404);
}
