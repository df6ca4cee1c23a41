//! Headers sent with every response, so that a browser never lets another site's page
//! frame the dashboard (and click its buttons), never guesses a response's type, and never
//! tells other sites which page of the service a link was followed from.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;

/// Scripts, styles and everything else only from the service itself (the dashboard loads
/// nothing from anywhere else and has no inline script or style); the page icon is a
/// `data:` URL; no page may frame ours.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Swagger UI (`/docs/`) is the dashboard's policy but for inline styles, which its
/// scripts set as they render; its scripts still come only from the service.
pub const DOCS_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Middleware: adds the headers to every response that does not set them itself.
pub async fn security_headers(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let policy = if request.path().starts_with("/docs") {
        DOCS_CONTENT_SECURITY_POLICY
    } else {
        CONTENT_SECURITY_POLICY
    };
    let mut response = next.call(request).await?;
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", policy),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
    ] {
        let name = HeaderName::from_static(name);
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    Ok(response)
}
