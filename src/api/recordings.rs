//! `GET /calls/{id}/recording`: a call's recording, behind the API's auth like every route but
//! the Exotel-facing ones. `id` is the call's id in the exports (`call_id`).
//!
//! The runtime's own WAV is streamed by actix-files' `NamedFile`, which answers `Range`
//! requests (an `<audio>` element asks `bytes=0-` and seeks by range) and conditional ones
//! (`ETag`, `Last-Modified`), reading on the blocking pool. Without one, Exotel's http(s)
//! recording is a redirect; otherwise 404. The file's name comes from the database and is
//! checked again (`RecordingName`): nothing in the request ever becomes part of a path.

use actix_files::NamedFile;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::error::ErrorBody;
use super::{ApiError, AppState};

#[utoipa::path(
    get,
    path = "/calls/{id}/recording",
    operation_id = "call_recording",
    tag = "exports",
    params(("id" = i64, Path, description = "The call's id (`call_id` in the exports)")),
    responses(
        (status = 200, description = "The runtime's recording: WAV, 16-bit PCM, caller left, agent right; \
            `Range` requests are answered with 206", content_type = "audio/wav", body = Vec<u8>),
        (status = 302, description = "No file here, but Exotel reported a recording: its URL is in `Location`"),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 404, description = "No such call, or no recording of it", body = ErrorBody),
    ),
)]
pub async fn recording(
    state: web::Data<AppState>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    // An id that is not a number names no call.
    let call_id: i64 = id.parse().map_err(|_| ApiError::NotFound("call"))?;
    let recording = state.store.call_recording(call_id).await?;
    if let (Some(dir), Some(name)) = (&state.settings.recordings_dir, &recording.ours) {
        let path = dir.join(name.as_str());
        let opened = web::block(move || NamedFile::open(path))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        match opened {
            Ok(file) => {
                let mut response = file.set_content_type(wav()).into_response(&req);
                // A caller's voice: no shared cache keeps it.
                response.headers_mut().insert(
                    header::CACHE_CONTROL,
                    header::HeaderValue::from_static("private, no-cache"),
                );
                return Ok(response);
            }
            // Deleted by the operator's retention, or on another node's disk: Exotel's, if any.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(ApiError::Internal(format!(
                    "recording {}: {e}",
                    name.as_str()
                )))
            }
        }
    }
    match recording.exotel {
        Some(url) => Ok(HttpResponse::Found()
            .insert_header((header::LOCATION, url.as_str()))
            .finish()),
        None => Err(ApiError::NotFound("recording")),
    }
}

fn wav() -> actix_web::mime::Mime {
    // A constant that parses.
    "audio/wav"
        .parse()
        .unwrap_or(actix_web::mime::APPLICATION_OCTET_STREAM)
}
