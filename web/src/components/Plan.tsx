import { Fragment } from "react";
import { Block, blocks, Inline } from "../markdown";
import { Action } from "./Action";

function Inlines({ parts }: { parts: Inline[] }) {
  return (
    <>
      {parts.map((p, i) =>
        p.kind === "code" ? <code key={i}>{p.text}</code>
        : p.kind === "strong" ? <strong key={i}>{p.text}</strong>
        : p.kind === "em" ? <em key={i}>{p.text}</em>
        : <Fragment key={i}>{p.text}</Fragment>,
      )}
    </>
  );
}

function Rendered({ block }: { block: Block }) {
  switch (block.kind) {
    case "heading": {
      const Tag = `h${Math.min(6, block.level + 2)}` as "h3";
      return <Tag><Inlines parts={block.inlines} /></Tag>;
    }
    case "list": {
      const items = block.items.map((item, i) => <li key={i}><Inlines parts={item} /></li>);
      return block.ordered ? <ol>{items}</ol> : <ul>{items}</ul>;
    }
    case "code":
      return <pre><code>{block.text}</code></pre>;
    default:
      return <p><Inlines parts={block.inlines} /></p>;
  }
}

interface Props {
  markdown: string;
  awaitingApproval: boolean;
  approve: () => Promise<unknown>;
}

export function Plan({ markdown, awaitingApproval, approve }: Props) {
  return (
    <section className="plan" aria-labelledby="plan-title">
      <h2 id="plan-title">Plan</h2>
      {markdown ? (
        <div className="markdown" data-testid="plan">
          {blocks(markdown).map((b, i) => <Rendered key={i} block={b} />)}
        </div>
      ) : (
        <p>The planner is writing the plan.</p>
      )}
      {awaitingApproval && <Action label="Approve plan" run={approve} primary />}
    </section>
  );
}
