// Slash commands typed in the goal box: parsing and completion, apart from any component.

export interface SlashCommand {
  name: string;
  hint: string;
  help: string;
}

export const COMMANDS: SlashCommand[] = [
  { name: "plan", hint: "<goal>", help: "start a job whose plan waits for your approval" },
  { name: "test", hint: "", help: "show the latest test results of this job" },
  { name: "deploy", hint: "", help: "approve the deploy this job waits for" },
  { name: "cancel", hint: "[reason]", help: "cancel this job" },
  { name: "retry", hint: "", help: "retry this job's failed step" },
  { name: "cost", hint: "", help: "this job's cost so far" },
];

export type Parsed =
  | { kind: "goal"; text: string }
  | { kind: "command"; command: SlashCommand; args: string }
  | { kind: "unknown"; name: string };

export function parse(input: string): Parsed {
  const text = input.trim();
  if (!text.startsWith("/")) return { kind: "goal", text };
  const [head, ...rest] = text.slice(1).split(/\s+/);
  const command = COMMANDS.find((c) => c.name === head.toLowerCase());
  if (!command) return { kind: "unknown", name: head };
  return { kind: "command", command, args: rest.join(" ") };
}

/** The commands the input could become, while the first word is being typed. */
export function completions(input: string): SlashCommand[] {
  if (!input.startsWith("/") || /\s/.test(input)) return [];
  const prefix = input.slice(1).toLowerCase();
  return COMMANDS.filter((c) => c.name.startsWith(prefix));
}

/** The command whose arguments are being typed (its name done, a space after it), if any. */
export function typing(input: string): SlashCommand | null {
  if (!input.startsWith("/") || !/\s/.test(input)) return null;
  const parsed = parse(input);
  return parsed.kind === "command" ? parsed.command : null;
}

/** What to show under the box: the possible commands while the name is typed, then the chosen
 * command's argument hint while its arguments are. */
export function hints(input: string): SlashCommand[] {
  const chosen = typing(input);
  return chosen ? [chosen] : completions(input);
}
