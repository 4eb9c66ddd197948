import React, { useState } from "react";
import { Button } from "./Button";

type Item = { id: string; title: string; done: boolean };

export function TodoList({ items, onToggle }: { items: Item[]; onToggle: (id: string) => void }) {
  const [filter, setFilter] = useState("all");
  const shown = items.filter((i) => filter === "all" || (filter === "done") === i.done);
  return (
    <div className="todo-list">
      <header className="todo-list__header">
        <h2>Things to do</h2>
        <p>{shown.length} of {items.length} shown</p>
      </header>
      <ul>
        {shown.map((item) => (
          <li key={item.id} className={item.done ? "done" : ""}>
            <label htmlFor={item.id}>{item.title}</label>
            <input id={item.id} type="checkbox" checked={item.done} onChange={() => onToggle(item.id)} />
          </li>
        ))}
      </ul>
      <footer>
        <Button onClick={() => setFilter("all")}>All</Button>
        <Button onClick={() => setFilter("done")}>Done</Button>
        <Button onClick={() => setFilter("open")}>Open</Button>
      </footer>
    </div>
  );
}
