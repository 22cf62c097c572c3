/**
 * The REST contract the portal relies on: JupyterHub's API plus highrate's /hub/api/profiles.
 * Only the fields the portal reads are listed; the hub may send more.
 */

/** `pending` names the transition in progress; null when the server is steady. */
export type PendingAction = 'spawn' | 'stop' | null;

/** One server of a user, as in JupyterHub's server model. */
export interface ServerModel {
  name: string;
  ready: boolean;
  pending: PendingAction;
  url: string;
  progress_url: string;
  started: string | null;
  last_activity: string | null;
  user_options: Record<string, unknown> | null;
}

/** GET /hub/api/user. The default server has the key "". */
export interface UserModel {
  name: string;
  admin: boolean;
  groups: string[];
  /** The caller's effective scopes (GET /hub/api/user only); `admin-ui` opens the admin pages. */
  scopes?: string[];
  servers?: Record<string, ServerModel>;
}

/** One start option offered as a fixed list of choices. */
export interface Choice<T> {
  choices: T[];
  default: T;
}

/** A profile from GET /hub/api/profiles: a named set of start options and where it runs. */
export interface Profile {
  name: string;
  display_name: string;
  description: string;
  default: boolean;
  executor: string;
  options: {
    cores: Choice<number>;
    memory: Choice<string>;
    image?: Choice<string>;
  };
}

/** GET /hub/api/profiles (highrate extension). */
export interface ProfilesResponse {
  named_servers: boolean;
  named_server_limit: number;
  profiles: Profile[];
}

/** Body of POST /hub/api/users/<name>/server[s/<server>]. */
export interface StartRequest {
  profile: string;
  cores: number;
  memory: string;
  image?: string;
}

/** One event of the progress stream (Server-Sent Events, JSON data). */
export interface ProgressEvent {
  progress?: number;
  message?: string;
  html_message?: string;
  ready?: boolean;
  failed?: boolean;
  url?: string;
}

/** One API token as listed by GET /hub/api/users/<name>/tokens. */
export interface ApiToken {
  id: string;
  note: string | null;
  created: string | null;
  last_activity: string | null;
  expires_at: string | null;
  scopes: string[];
}

/** POST /hub/api/users/<name>/tokens answers the token once, with its model. */
export interface NewToken extends ApiToken {
  token: string;
}

/** Body of an API error: stable `code`, user-safe `message`. */
export interface ApiErrorBody {
  status: number;
  message: string;
  code?: string;
}
