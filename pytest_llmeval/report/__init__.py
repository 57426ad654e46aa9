"""Pure renderers over plain data: terminal lines now; JSON, HTML and Markdown to come."""
