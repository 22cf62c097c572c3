import type { FormEvent } from 'react';
import type { Choice, Profile } from '../api/types.js';
import { formatCores, formatMemory } from '../format.js';

/** What the user picked on the start form. */
export interface SpawnChoice {
  profile: string;
  cores: number;
  memory: string;
  /** Only when the profile offers images. */
  image?: string;
}

function pick<T>(option: Choice<T>, previous: unknown): T {
  return option.choices.includes(previous as T) ? (previous as T) : option.default;
}

/** A profile's own defaults, or the previous options where they are still offered. */
function choiceFor(profile: Profile, previous: Record<string, unknown> | null): SpawnChoice {
  const choice: SpawnChoice = {
    profile: profile.name,
    cores: pick(profile.options.cores, previous?.cores),
    memory: pick(profile.options.memory, previous?.memory),
  };
  if (profile.options.image) choice.image = pick(profile.options.image, previous?.image);
  return choice;
}

/**
 * The first choice shown: the server's previous options when it ran before, else the default
 * profile (or the first one). Null when there is no profile at all.
 */
export function initialChoice(profiles: Profile[], previous: Record<string, unknown> | null): SpawnChoice | null {
  const byPrevious = profiles.find(function samePrevious(p) {
    return p.name === previous?.profile;
  });
  const profile =
    byPrevious ??
    profiles.find(function isDefault(p) {
      return p.default;
    }) ??
    profiles[0];
  if (!profile) return null;
  return choiceFor(profile, byPrevious ? previous : null);
}

interface SpawnFormProps {
  profiles: Profile[];
  choice: SpawnChoice;
  onChange: (choice: SpawnChoice) => void;
  onSubmit: (event: FormEvent<HTMLFormElement>) => void;
  submitting: boolean;
}

/** Profile, then that profile's cores, memory and (if offered) image. */
export function SpawnForm({ profiles, choice, onChange, onSubmit, submitting }: SpawnFormProps) {
  const profile =
    profiles.find(function chosen(p) {
      return p.name === choice.profile;
    }) ?? profiles[0]!;

  function changeProfile(name: string) {
    const next = profiles.find(function named(p) {
      return p.name === name;
    });
    // Options differ per profile: start again from the new profile's defaults.
    if (next) onChange(choiceFor(next, null));
  }

  return (
    <form className="card spawn-form" onSubmit={onSubmit} aria-labelledby="spawn-form-title">
      <h2 id="spawn-form-title">Server options</h2>
      <fieldset disabled={submitting}>
        <div className="field">
          <label htmlFor="spawn-profile">Profile</label>
          <select
            id="spawn-profile"
            name="profile"
            value={profile.name}
            onChange={(e) => changeProfile(e.target.value)}
            aria-describedby="spawn-profile-description"
          >
            {profiles.map(function option(p) {
              return (
                <option key={p.name} value={p.name}>
                  {p.display_name || p.name}
                </option>
              );
            })}
          </select>
          <div id="spawn-profile-description" className="profile-description" data-testid="profile-description">
            {profile.description ? <p>{profile.description}</p> : null}
            <p className="hint">
              Runs on: <span className="mono">{profile.executor}</span>
            </p>
          </div>
        </div>
        <div className="field-row">
          <div className="field">
            <label htmlFor="spawn-cores">Cores</label>
            <select
              id="spawn-cores"
              name="cores"
              value={String(choice.cores)}
              onChange={(e) => onChange({ ...choice, cores: Number(e.target.value) })}
            >
              {profile.options.cores.choices.map(function option(n) {
                return (
                  <option key={n} value={String(n)}>
                    {formatCores(n)}
                  </option>
                );
              })}
            </select>
          </div>
          <div className="field">
            <label htmlFor="spawn-memory">Memory</label>
            <select id="spawn-memory" name="memory" value={choice.memory} onChange={(e) => onChange({ ...choice, memory: e.target.value })}>
              {profile.options.memory.choices.map(function option(m) {
                return (
                  <option key={m} value={m}>
                    {formatMemory(m)}
                  </option>
                );
              })}
            </select>
          </div>
          {profile.options.image ? (
            <div className="field field-wide">
              <label htmlFor="spawn-image">Image</label>
              <select id="spawn-image" name="image" value={choice.image ?? profile.options.image.default} onChange={(e) => onChange({ ...choice, image: e.target.value })}>
                {profile.options.image.choices.map(function option(i) {
                  return (
                    <option key={i} value={i}>
                      {i}
                    </option>
                  );
                })}
              </select>
            </div>
          ) : null}
        </div>
      </fieldset>
      <div className="form-actions">
        <button type="submit" className="button button-primary" disabled={submitting} data-testid="spawn-submit">
          {submitting ? 'Starting…' : 'Start'}
        </button>
      </div>
    </form>
  );
}
