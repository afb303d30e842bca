// Pure state changes of the todo list, apart from React, so they are tested on their own.
export type Todo = { id: string; title: string; completed: boolean };
export type Filter = "all" | "active" | "completed";

export function addTodo(todos: Todo[], title: string, id: string): Todo[] {
  const trimmed = title.trim();
  return trimmed ? [...todos, { id, title: trimmed, completed: false }] : todos;
}

export function toggleTodo(todos: Todo[], id: string): Todo[] {
  return todos.map((t) => (t.id === id ? { ...t, completed: !t.completed } : t));
}

export function toggleAll(todos: Todo[]): Todo[] {
  const completed = todos.some((t) => !t.completed);
  return todos.map((t) => ({ ...t, completed }));
}

export function removeTodo(todos: Todo[], id: string): Todo[] {
  return todos.filter((t) => t.id !== id);
}

export function clearCompleted(todos: Todo[]): Todo[] {
  return todos.filter((t) => !t.completed);
}

export function visible(todos: Todo[], filter: Filter): Todo[] {
  if (filter === "all") return todos;
  return todos.filter((t) => t.completed === (filter === "completed"));
}

export function itemsLeft(todos: Todo[]): string {
  const n = todos.filter((t) => !t.completed).length;
  return `${n} ${n === 1 ? "item" : "items"} left`;
}
