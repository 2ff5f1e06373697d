// What `nsnet compose up` and `down` report as they go, one event per
// network or sandbox step.

/** What `up` and `down` report as they go; the CLI draws it as a progress list. */
export interface ComposeEvent {
  kind: 'Network' | 'Sandbox';
  name: string;
  /** "Creating", then "Created", "Started", "Running", "Recreated", "Removed", or "Error". */
  status: string;
  done: boolean;
}
export type OnEvent = (e: ComposeEvent) => void;
