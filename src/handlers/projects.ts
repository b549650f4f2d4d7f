import { projectFromCreate, projectWithUpdate } from '../../generated/model/index.js';
import type { Handlers } from '../../generated/routes/handlers.js';
import type { Project } from '../../generated/types/index.js';
import { ContractError, notFound } from '../contract-error.js';
import { newEntity, save, updateById } from './save.js';
import { found, getById } from './found.js';
import type { DataStore } from '../store/index.js';

type ProjectHandlers = Pick<Handlers, 'listProjects' | 'createProject' | 'getProject' | 'updateProject' | 'deleteProject'>;

const projectNotFound = () => notFound('PROJECT_NOT_FOUND', 'Project not found');

/** Projects, docs/behaviour.md §2.2 (E1–E5). */
export function createProjectHandlers({ store }: { store: DataStore }): ProjectHandlers {
  return {
    /** docs/behaviour.md §2.2 E1 */
    async listProjects() {
      return store.listProjects();
    },

    /** docs/behaviour.md §2.2 E2: the fields follow from the schemas (generated/model); the server adds id and stamps. */
    async createProject({ body }) {
      return store.mutate((tx) => save(tx, 'project:created', newEntity(tx, 'proj', projectFromCreate(body))));
    },

    /** docs/behaviour.md §2.2 E3 */
    getProject: getById((id) => store.getProject(id), projectNotFound),

    /** docs/behaviour.md §2.2 E4: lookup → name → workingDir → description; an empty body still stamps and emits. */
    updateProject: updateById(store, 'project:updated', (tx, id) => tx.getProject(id), projectNotFound, projectWithUpdate),

    /** docs/behaviour.md §2.2 E5: lookup → tasks → sessions; nothing cascades. */
    async deleteProject({ params }) {
      return store.mutate((tx) => {
        const project = found(tx.getProject(params.id), projectNotFound);
        const tasks = tx.countTasksOfProject(project.id);
        if (tasks > 0) {
          throw new ContractError(400, 'PROJECT_HAS_DEPENDENCIES', `Cannot delete project with ${tasks} existing task(s)`);
        }
        const sessions = tx.countSessionsOfProject(project.id);
        if (sessions > 0) {
          throw new ContractError(400, 'PROJECT_HAS_DEPENDENCIES', `Cannot delete project with ${sessions} existing session(s)`);
        }
        tx.deleteProject(project.id);
        tx.emit('project:deleted', { id: project.id });
        return { success: true as const, id: project.id };
      });
    },
  };
}
