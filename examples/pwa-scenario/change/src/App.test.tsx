import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "./App";
import { memoryNoteStore } from "./notesDb";

describe("App", () => {
  it("saves and deletes notes", async () => {
    const user = userEvent.setup();
    render(<App store={memoryNoteStore()} />);
    await user.type(screen.getByLabelText("New note"), "Groceries{Enter}milk");
    await user.click(screen.getByRole("button", { name: "Save note" }));
    expect(await screen.findByText("Groceries")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Delete Groceries" }));
    expect(screen.queryByText("Groceries")).not.toBeInTheDocument();
  });

  it("shows the notes the store kept, after a reload", async () => {
    const store = memoryNoteStore();
    const user = userEvent.setup();
    const { unmount } = render(<App store={store} />);
    await user.type(screen.getByLabelText("New note"), "survive");
    await user.click(screen.getByRole("button", { name: "Save note" }));
    await screen.findByText("survive");
    unmount();
    render(<App store={store} />);
    expect(await screen.findByText("survive")).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("notes are kept on this device");
  });
});
