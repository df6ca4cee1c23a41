//! One path of the route table: its handler for each method, and for any other method a
//! 405 problem whose `Allow` header lists exactly the methods registered here, so that
//! the list cannot drift from the routes.

use actix_web::http::header::HeaderValue;
use actix_web::{FromRequest, Handler, HttpRequest, Resource, Responder, Route, web};

use crate::problem;

/// A resource being built: its routes so far and their methods.
#[allow(missing_debug_implementations)] // actix's Resource is not Debug
pub struct Endpoint {
    resource: Resource,
    methods: Vec<&'static str>,
}

impl Endpoint {
    pub fn at(path: &str) -> Self {
        Self {
            resource: web::resource(path),
            methods: Vec::new(),
        }
    }

    pub fn get<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route("GET", web::get().to(handler))
    }

    pub fn post<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route("POST", web::post().to(handler))
    }

    fn route(mut self, method: &'static str, route: Route) -> Self {
        self.resource = self.resource.route(route);
        self.methods.push(method);
        self
    }

    /// The resource, answering 405 with the registered methods for every other one.
    pub fn done(self) -> Resource {
        let allow =
            HeaderValue::from_str(&self.methods.join(", ")).expect("method names are header-safe");
        self.resource
            .default_service(web::to(move |request: HttpRequest| {
                let allow = allow.clone();
                async move { problem::method_not_allowed(&request, &allow) }
            }))
    }
}
