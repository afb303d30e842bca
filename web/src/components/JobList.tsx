import { useEffect, useState } from "react";
import { Api, JobSummary } from "../api";

export function JobList({ api, onOpen }: { api: Api; onOpen: (id: string) => void }) {
  const [jobs, setJobs] = useState<JobSummary[]>([]);
  useEffect(() => {
    api.listJobs().then((page) => setJobs(page.items), () => setJobs([]));
  }, [api]);
  if (!jobs.length) return null;
  return (
    <section aria-labelledby="recent">
      <h2 id="recent">Recent jobs</h2>
      <ul className="jobs">
        {jobs.map((job) => (
          <li key={job.id}>
            <a
              href={`/app/jobs/${job.id}`}
              onClick={(e) => {
                e.preventDefault();
                onOpen(job.id);
              }}
            >
              {job.goal ?? job.id}
            </a>{" "}
            <span className="state">{job.state}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
