// A component whose markup uses no JSX syntax at all: only where it sits tells it apart.
export default function About() {
  return (
    <section>
      <h1>About this project</h1>
      <p>
        We build small tools for people who run their own servers. Everything here is
        free software and runs on a single machine without any cloud account.
      </p>
      <h2>What you get</h2>
      <ul>
        <li>A proxy that keeps your requests small</li>
        <li>A dashboard that shows what it saved</li>
        <li>A command line for scripts and batch jobs</li>
        <li>Documentation for every flag and every limit</li>
      </ul>
      <h2>Contact</h2>
      <p>
        Write to the mailing list or open an issue. We answer within a week, usually
        sooner, and we read every report even when we cannot fix it at once.
      </p>
    </section>
  );
}
