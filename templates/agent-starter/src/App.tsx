import { useEffect, useState } from "react";
import { loadTodos, saveTodos } from "./storage";
import * as list from "./todos";
import type { Filter, Todo } from "./todos";

const FILTERS: Filter[] = ["all", "active", "completed"];

export function App() {
  const [todos, setTodos] = useState<Todo[]>(loadTodos);
  const [filter, setFilter] = useState<Filter>("all");
  const [draft, setDraft] = useState("");

  useEffect(() => saveTodos(todos), [todos]);

  return (
    <main className="todoapp">
      <h1>todos</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setTodos((t) => list.addTodo(t, draft, crypto.randomUUID()));
          setDraft("");
        }}
      >
        <label htmlFor="new-todo" className="visually-hidden">
          New todo
        </label>
        <input
          id="new-todo"
          className="new-todo"
          placeholder="What needs to be done?"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          autoFocus
        />
      </form>
      {todos.length > 0 && (
        <>
          <button className="toggle-all" onClick={() => setTodos(list.toggleAll)}>
            Mark all as complete
          </button>
          <ul className="todo-list" aria-label="Todos">
            {list.visible(todos, filter).map((todo) => (
              <li key={todo.id} className={todo.completed ? "completed" : ""}>
                <input
                  type="checkbox"
                  aria-label={`Toggle ${todo.title}`}
                  checked={todo.completed}
                  onChange={() => setTodos((t) => list.toggleTodo(t, todo.id))}
                />
                <span>{todo.title}</span>
                <button
                  aria-label={`Delete ${todo.title}`}
                  onClick={() => setTodos((t) => list.removeTodo(t, todo.id))}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
          <footer className="footer">
            <span className="todo-count">{list.itemsLeft(todos)}</span>
            <nav aria-label="Filter">
              {FILTERS.map((f) => (
                <button key={f} aria-pressed={filter === f} onClick={() => setFilter(f)}>
                  {f[0].toUpperCase() + f.slice(1)}
                </button>
              ))}
            </nav>
            <button onClick={() => setTodos(list.clearCompleted)}>Clear completed</button>
          </footer>
        </>
      )}
    </main>
  );
}
