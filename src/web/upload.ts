/**
 * `POST /predict_emotion` from the page. XMLHttpRequest rather than fetch: only it reports upload progress, the one
 * part of a server run the page can measure (a long recording is megabytes).
 */

export interface UploadEvents {
  /** Bytes of the request body sent so far. */
  onUploadProgress(loaded: number, total: number): void;
  /** The whole body is sent: the server is decoding and running the model now. */
  onUploaded(): void;
}

/** Sends `form`; resolves to the HTTP status and the parsed JSON answer. Rejects when no answer came. */
export function postForm(
  url: string,
  form: FormData,
  events: UploadEvents,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', url);
    request.responseType = 'json';
    request.upload.addEventListener('progress', (event) => events.onUploadProgress(event.loaded, event.total));
    request.upload.addEventListener('load', () => events.onUploaded());
    request.addEventListener('load', () => {
      if (request.response === null) reject(new Error(`The server answered ${request.status} without a JSON body.`));
      else resolve({ status: request.status, body: request.response as unknown });
    });
    request.addEventListener('error', () => reject(new Error('The server could not be reached (network error).')));
    request.addEventListener('abort', () => reject(new Error('The request was aborted.')));
    request.send(form);
  });
}
