import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "./App";

describe("App", () => {
  it("adds, completes and filters todos", async () => {
    const user = userEvent.setup();
    render(<App />);
    await user.type(screen.getByLabelText("New todo"), "write tests{Enter}");
    await user.type(screen.getByLabelText("New todo"), "ship it{Enter}");
    expect(screen.getByText("2 items left")).toBeInTheDocument();

    await user.click(screen.getByLabelText("Toggle write tests"));
    expect(screen.getByText("1 item left")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Active" }));
    expect(screen.queryByText("write tests")).not.toBeInTheDocument();
    expect(screen.getByText("ship it")).toBeInTheDocument();
  });

  it("keeps the list across a reload", async () => {
    const user = userEvent.setup();
    const { unmount } = render(<App />);
    await user.type(screen.getByLabelText("New todo"), "survive{Enter}");
    unmount();
    render(<App />);
    expect(screen.getByText("survive")).toBeInTheDocument();
  });
});
