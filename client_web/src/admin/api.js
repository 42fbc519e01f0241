// The admin console's fetch wrapper: JSON, the Bearer token, errors as ApiError (with words).
// Routes are listed in GET /api/openapi.json; `has()` tells whether the server has one yet.

import { ApiError, rest } from "../net.js";

export class AdminApi {
  constructor(token) {
    this.token = token;
    this._routes = null;
  }

  get(path, query) {
    return rest("GET", path, { query, token: this.token });
  }

  post(path, body = {}) {
    return rest("POST", path, { body, token: this.token });
  }

  patch(path, body = {}) {
    return rest("PATCH", path, { body, token: this.token });
  }

  put(path, body = {}) {
    return rest("PUT", path, { body, token: this.token });
  }

  /** The set of "METHOD /path/{param}" the server documents (empty set if it cannot be read). */
  async routes() {
    if (!this._routes) {
      this._routes = rest("GET", "/api/openapi.json")
        .then((doc) => {
          const out = new Set();
          for (const [path, ops] of Object.entries(doc.paths || {})) {
            for (const method of Object.keys(ops)) out.add(`${method.toUpperCase()} ${path}`);
          }
          return out;
        })
        .catch(() => new Set());
    }
    return this._routes;
  }

  async has(method, path) {
    return (await this.routes()).has(`${method} ${path}`);
  }
}

export { ApiError };
